import Foundation
import Logging
import SluiceKafka
import SluiceRecords
import SluiceRegistry
import SluiceScaling
import SluiceSupport

/// (d) of `sluice bench deploy`: from `sluice rollback` to the previous version answering on every one of
/// three `sluice worker` processes (each follows the registry on its own), under a steady 300 requests/s.
/// A worker's figure is its first answer of the previous version after the rollback; the benchmark fails
/// when a worker answers with the rolled-back version after that.
struct RollbackBenchmark: Sendable {
    let connection: KafkaConnection
    let executable: String
    let logger: Logger
    static let workers = 3

    /// Seconds from the rollback to each worker's first answer of the previous version.
    func run(tag: String, progress: @Sendable (String) -> Void) async throws -> [String: Double] {
        let (topics, created) = try await BenchmarkSupervision.makeTopics(
            prefix: "bench.\(tag).rollback", partitions: Self.workers, connection: connection)
        let name = "bench-rollback-\(tag)"
        for marker in ["r1", "r2"] {
            _ = try await BenchmarkFunction.deploy(
                name: name, handler: "def main(event, context):\n    return '\(marker)'\n", connection: connection
            ) { _ in }
        }
        var configuration = BenchmarkSupervision.configuration(
            connection: connection, executable: executable, topics: topics, group: "bench-rollback-\(tag)")
        configuration.policy.minWorkers = Self.workers
        configuration.policy.maxWorkers = Self.workers
        configuration.initialWorkers = Self.workers
        let supervisor = Supervisor(configuration: configuration, logger: logger)
        let running = Task { try await supervisor.run() }
        let reader = try await ResultReader.start(connection: connection, function: name)
        do {
            let figures = try await measure(name, topic: topics.invocations, reader: reader, progress: progress)
            running.cancel()
            _ = try? await running.value
            await reader.close()
            await BenchmarkSupervision.deleteTopics(created, connection: connection)
            return figures
        } catch {
            running.cancel()
            _ = try? await running.value
            await reader.close()
            throw error
        }
    }

    private func measure(
        _ name: String, topic: String, reader: ResultReader, progress: @Sendable (String) -> Void
    ) async throws -> [String: Double] {
        progress("(d) \(Self.workers) worker processes answering version 2, then `rollback` under 300 requests/s…")
        let producer = try KafkaProducer.make(ProducerConfiguration(connection: connection))
        return try await closing(close: producer.close) {
            var answering: Set<String> = []
            let warmUp = ContinuousClock.now
            while answering.count < Self.workers {
                guard ContinuousClock.now - warmUp < .seconds(120) else {
                    throw KafkaError(.timedOut, "only \(answering.count) of \(Self.workers) workers answered in 120 s")
                }
                try await publish(name, 30, topic: topic, producer: producer)
                for answer in try await reader.collectValues(30, timeout: .seconds(120)).compactMap(Answer.init)
                where answer.output == "r2" {
                    answering.insert(answer.worker)
                }
            }
            var published = 0
            for _ in 0..<10 {  // 1 s of traffic before the rollback
                try await publish(name, 30, topic: topic, producer: producer)
                published += 30
                try await Task.sleep(for: .milliseconds(100))
            }
            let rolledBack = Date()
            _ = try await FunctionDeployer.with(connection: connection) { try await $0.rollback(name: name) }
            for _ in 0..<30 {  // 3 s after it
                try await publish(name, 30, topic: topic, producer: producer)
                published += 30
                try await Task.sleep(for: .milliseconds(100))
            }
            let answers = try await reader.collectValues(published, timeout: .seconds(120)).compactMap(Answer.init)
            return try Self.figures(answers, since: rolledBack, workers: answering)
        }
    }

    /// Each worker's first `r1` after `since`, in seconds; throws when a worker answered `r2` later.
    static func figures(_ answers: [Answer], since: Date, workers: Set<String>) throws -> [String: Double] {
        var figures: [String: Double] = [:]
        for worker in workers {
            let after = answers.filter { $0.worker == worker && $0.finished >= since }
            guard let first = after.filter({ $0.output == "r1" }).map(\.finished).min() else {
                throw KafkaError(.timedOut, "worker \(worker) never answered with the previous version")
            }
            if let late = after.filter({ $0.output == "r2" && $0.started > first }).first {
                throw KafkaError(
                    .configuration, "worker \(worker) ran the rolled-back version at \(late.started) after \(first)")
            }
            figures[worker] = first.timeIntervalSince(since)
        }
        return figures
    }

    private func publish(_ name: String, _ count: Int, topic: String, producer: KafkaProducer) async throws {
        var deliveries: [PendingDelivery] = []
        for index in 0..<count {
            let request = InvocationRequest(
                invocationID: InvocationRequest.randomID(), function: name, trigger: "invoke",
                key: Array("k\(index)".utf8), value: Array("1".utf8), traceParent: .start())
            deliveries.append(try await producer.enqueue(request.producerRecord(topic: topic)))
        }
        for delivery in deliveries { _ = try await delivery.position() }
    }

    /// One result: which worker, what it answered, when it started and finished.
    struct Answer {
        var worker: String
        var output: String
        var started: Date
        var finished: Date

        init?(_ value: [UInt8]) {
            guard let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any],
                let worker = object["worker_id"] as? String, let output = object["output"] as? String,
                let finished = (object["finished_at"] as? String).flatMap(Timestamp.parse),
                let stages = object["stages"] as? [String: Any], let startedMs = stages["started_ms"] as? Double
            else { return nil }
            self.worker = worker
            self.output = output
            self.started = Date(timeIntervalSince1970: startedMs / 1000)
            self.finished = finished
        }
    }
}
