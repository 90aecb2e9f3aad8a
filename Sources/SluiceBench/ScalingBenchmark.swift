import Foundation
import Logging
import SluiceAutoscaler
import SluiceKafka
import SluiceRecords
import SluiceScaling
import SluiceSupport

/// `sluice bench scaling`: a supervisor starts with one `sluice worker` process; a backlog of `events`
/// requests of a 4 ms function lands at once. Measured in the same run: the drain rate of the first
/// worker alone (until another worker's first result), the best 3 s once the autoscaler's workers have
/// joined, their ratio, and the time from the backlog's onset to the decision and to the first result of
/// an added worker.
public struct ScalingBenchmark: Sendable {
    public struct Report: Sendable {
        public var events: Int
        public var aloneRate: Double
        public var scaledRate: Double
        public var workers: Int
        public var onsetToDecisionSeconds: Double
        public var onsetToAddedWorkerResultSeconds: Double
        public var ratio: Double { aloneRate > 0 ? scaledRate / aloneRate : 0 }
    }

    let connection: KafkaConnection
    let events: Int
    /// The `sluice` executable the supervisor runs workers with.
    let executable: String
    let logger = Logger(label: "sluice.bench")
    private let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)

    public init(connection: KafkaConnection, events: Int, executable: String) {
        self.connection = connection
        self.events = events
        self.executable = executable
    }

    public func run(progress: @Sendable (String) -> Void) async throws -> Report {
        let (topics, created) = try await BenchmarkSupervision.makeTopics(
            prefix: "bench.\(tag)", partitions: 6, connection: connection)
        let name = "bench-scaled-\(tag)"
        _ = try await BenchmarkFunction.deploy(
            name: name, handler: "import time\ndef main(event, context):\n    time.sleep(0.004)\n    return event\n",
            connection: connection
        ) { $0.maxConcurrency = 4 }
        let group = "bench-scaled-\(tag)"
        let supervisor = Supervisor(configuration: configuration(topics: topics, group: group), logger: logger)
        let running = Task { try await supervisor.run() }
        let reader = try await ResultReader.start(connection: connection, function: name)
        let report: Report
        do {
            progress(
                "one worker, then a backlog of \(events) requests of a 4 ms function; the supervisor adds workers…")
            _ = try await publish(name, count: 10, topic: topics.invocations)
            _ = try await reader.collectValues(10, timeout: .seconds(120))
            let onset = Date()
            _ = try await publish(name, count: events, topic: topics.invocations)
            let values = try await reader.collectValues(events, timeout: .seconds(600))
            let decision = try await firstScaleUp(pool: "pool:\(group)", after: onset)
            report = try Self.measure(values, onset: onset, decision: decision, events: events)
        } catch {
            running.cancel()
            _ = try? await running.value
            await reader.close()
            throw error
        }
        running.cancel()
        _ = try? await running.value
        await reader.close()
        await BenchmarkSupervision.deleteTopics(created, connection: connection)
        return report
    }

    private func configuration(topics: PlatformTopics, group: String) -> Supervisor.Configuration {
        var configuration = BenchmarkSupervision.configuration(
            connection: connection, executable: executable, topics: topics, group: group,
            workerArguments: ["--concurrency", "2"])
        configuration.policy.perWorkerThroughput = 300
        configuration.policy.maxWorkers = 3
        configuration.policy.cooldownSeconds = 3
        return configuration
    }

    private func publish(_ function: String, count: Int, topic: String) async throws -> Int {
        try await BenchmarkSupervision.publishRequests(function, count: count, topic: topic, connection: connection)
    }

    /// When the pool's first scale-up after `onset` was decided (its event's timestamp).
    private func firstScaleUp(pool: String, after onset: Date) async throws -> Date? {
        let records = try await TopicSnapshot.read(PlatformTopics.standard.scaling, connection: connection)
        return records.filter { $0.keyText == pool }.compactMap { record -> Date? in
            guard let value = record.value, let event = try? JSONDecoder().decode(ScalingEvent.self, from: Data(value)),
                event.eventType == .scaleUp, let at = Timestamp.parse(event.timestamp)
            else { return nil }
            return at >= onset.addingTimeInterval(-1) ? at : nil
        }.min()
    }

    /// The figures from the results' `finished_at` and `worker_id`.
    static func measure(_ values: [[UInt8]], onset: Date, decision: Date?, events: Int) throws -> Report {
        let timed = values.compactMap { value -> (at: Date, worker: String)? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any],
                let at = (object["finished_at"] as? String).flatMap(Timestamp.parse)
            else { return nil }
            return (at, object["worker_id"] as? String ?? "")
        }.sorted { $0.at < $1.at }
        guard let first = timed.first else { throw KafkaError(.timedOut, "no results to measure") }
        let finished = timed.map(\.at)
        let joined = timed.first { $0.worker != first.worker }?.at ?? finished.last ?? onset
        let alone = finished.filter { $0 < joined }
        let aloneRate = Double(alone.count) / max(0.5, joined.timeIntervalSince(first.at))
        var scaledRate = 0.0
        var window = joined
        while let last = finished.last, window.addingTimeInterval(3) <= last {
            let count = finished.filter { $0 >= window && $0 < window.addingTimeInterval(3) }.count
            scaledRate = max(scaledRate, Double(count) / 3)
            window.addTimeInterval(1)
        }
        return Report(
            events: events, aloneRate: aloneRate, scaledRate: scaledRate, workers: Set(timed.map(\.worker)).count,
            onsetToDecisionSeconds: decision.map { $0.timeIntervalSince(onset) } ?? -1,
            onsetToAddedWorkerResultSeconds: joined.timeIntervalSince(onset))
    }
}
