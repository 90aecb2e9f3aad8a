import Foundation
import Histogram
import Logging
import SluiceFunctions
import SluiceKafka
import SluiceRecords
import SluiceRegistry

/// `sluice bench pipeline`: the full path measured against a raw Kafka passthrough in the same run.
///
/// (a) consume→produce passthrough through the same Kafka layer; (b) publish → router → worker (warm
/// python3 no-op) → result; (c) end-to-end latency at a steady rate through (b) and raw produce→consume
/// latency at the same rate.
public struct PipelineBenchmark: Sendable {
    public struct Options: Sendable {
        public var events = 20_000
        public var ratePerSecond = 1000
        public var latencySeconds = 5
        public var workerConcurrency = 8
        public init() {}
    }

    public struct Report: Sendable {
        /// The median of five passthrough runs.
        public var rawEPS: Double
        /// The largest distance of a passthrough run from the median, in percent.
        public var passthroughSpreadPercent: Double
        /// The median of five `kcat -C | kcat -P` runs of the same records (nil without kcat).
        public var kcatEPS: Double?
        public var pipelineEPS: Double
        public var latencyMs: Percentiles
        public var rawLatencyMs: Percentiles
        /// Where the latency goes: (stage, percentiles) from the times results carry.
        public var stagesMs: [(stage: String, percentiles: Percentiles)] = []
        /// CPU per event in (b), µs: this process (router, worker, publisher, result reader) and the
        /// embedded broker (nil when the brokers were given).
        public var cpuMicrosPerEvent: (sluice: Double, broker: Double?) = (0, nil)
        public var ratio: Double { rawEPS > 0 ? pipelineEPS / rawEPS : 0 }
    }

    public struct Percentiles: Sendable {
        public var p50: Double, p95: Double, p99: Double, count: Int
        init(_ histogram: Histogram<UInt64>) {
            p50 = Double(histogram.valueAtPercentile(50)) / 1000
            p95 = Double(histogram.valueAtPercentile(95)) / 1000
            p99 = Double(histogram.valueAtPercentile(99)) / 1000
            count = Int(histogram.totalCount)
        }
    }

    let connection: KafkaConnection
    let options: Options
    let logger = Logger(label: "sluice.bench")
    /// Names this run's topics.
    private let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
    /// A topic nobody reads, for warming producers up.
    private var warmupTopic: String { "bench.\(tag).warmup" }

    public init(connection: KafkaConnection, options: Options) {
        self.connection = connection
        self.options = options
    }

    public func run(progress: @Sendable (String) -> Void) async throws -> Report {
        let admin = try KafkaAdmin.make(connection)
        let rawIn = "bench.\(tag).raw-in"
        let rawOut = "bench.\(tag).raw-out"
        let rawLatencyTopic = "bench.\(tag).raw-latency"
        let trigger = "bench.\(tag).trigger"
        let invocations = "bench.\(tag).invocations"
        let topics = [rawIn, rawOut, rawLatencyTopic, trigger, invocations]
        _ = try await admin.createTopics(topics.map { NewTopic(name: $0, partitions: 6) })
        _ = try await admin.createTopics([NewTopic(name: warmupTopic, partitions: 1)])

        // At least 200,000 records: a run of a few tens of milliseconds measures the machine's hiccups.
        let passthroughCount = max(options.events, 200_000)
        progress("(a) raw consume→produce passthrough of \(passthroughCount) records, median of 5…")
        try await publishPaced(topic: rawIn, count: passthroughCount, rate: nil)
        var passthroughRuns: [Double] = []
        for _ in 0..<5 {
            let run = try await rawPassthrough(from: rawIn, to: rawOut, count: passthroughCount)
            progress("    \(Int(run)) records/s")
            passthroughRuns.append(run)
        }
        let rawEPS = passthroughRuns.sorted()[2]
        // Stability: the largest distance of a run from the median (a run that stalls shows here).
        let spread = passthroughRuns.map { abs($0 - rawEPS) / rawEPS * 100 }.max() ?? 0
        progress(String(format: "    median %.0f records/s; runs within ±%.0f%% of it", rawEPS, spread))
        var kcatEPS: Double?
        if KcatPassthrough.available() {
            progress("    the same with kcat -C | kcat -P, median of 5…")
            var runs: [Double] = []
            for _ in 0..<5 {
                runs.append(
                    try await KcatPassthrough(connection: connection).run(
                        from: rawIn, to: rawOut, count: passthroughCount))
                progress("    \(Int(runs[runs.count - 1])) records/s")
            }
            kcatEPS = runs.sorted()[2]
        } else {
            progress("    (kcat is not installed: no third-party baseline; `make bench` installs it)")
        }

        progress("(b) publish → router → worker (python3 no-op) → result, \(options.events) events…")
        let function = "bench-noop-\(tag)"
        let spec = try await deployNoop(name: function, trigger: trigger)
        let pipeline = try await BenchmarkPipeline(connection: connection, invocations: invocations, logger: logger)
        // `workerConcurrency` warm processes, their batches filled.
        try await pipeline.startWorker(
            id: "bench-worker", groupID: "bench-workers-\(tag)", processes: options.workerConcurrency)
        pipeline.startRouter(groupID: "bench-router-\(tag)", functions: [spec.name])
        let results = try await ResultReader.start(connection: connection, function: spec.name)

        // Warm-up: one event through the whole path (group joins, warm processes).
        try await publishPaced(topic: trigger, count: 1, rate: nil)
        _ = try await results.collect(1, timeout: .seconds(60))
        let cpu = ProcessCPU(connection: connection)
        let cpuBefore = cpu.sample()
        let started = ContinuousClock.now
        try await publishPaced(topic: trigger, count: options.events, rate: nil)
        let throughputRun = try await results.collect(options.events, timeout: .seconds(600))
        let pipelineEPS = Double(options.events) / ((ContinuousClock.now - started) / .seconds(1))
        let cpuAfter = cpu.sample()
        let perEvent = { (before: Double, after: Double) in (after - before) * 1_000_000 / Double(options.events) }
        let cpuPerEvent = (
            sluice: perEvent(cpuBefore.own, cpuAfter.own),
            broker: cpuBefore.broker.flatMap { before in cpuAfter.broker.map { perEvent(before, $0) } }
        )
        progress("    \(Int(pipelineEPS)) events/s")
        progress(
            "      CPU per event: sluice \(Int(cpuPerEvent.sluice)) µs (router, worker, publisher, reader)"
                + (cpuPerEvent.broker.map { ", broker \(Int($0)) µs" } ?? ""))
        // Each stage's own pace (the events over the time between its first and last event) and the median
        // wait before it: where a backlog queues.
        let waits = [nil] + throughputRun.stages.map { Optional($0) }
        for (index, name) in ["published", "routed", "taken", "started", "ended", "result read"].enumerated() {
            let span = throughputRun.spans[index]
            let rate = Double(options.events) / max((span.upperBound - span.lowerBound) / 1_000_000, 0.001)
            let wait = waits[index].map {
                String(format: ", p50 %.1f ms after the previous", Double($0.valueAtPercentile(50)) / 1000)
            }
            progress(
                "      \(name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(Int(rate)) events/s\(wait ?? "")")
        }

        let latencyCount = options.ratePerSecond * options.latencySeconds
        progress("(c) end-to-end latency at \(options.ratePerSecond) events/s for \(options.latencySeconds) s…")
        // Results are read while events are published: the latency is taken when each result arrives.
        async let collected = results.collect(latencyCount, timeout: .seconds(600))
        try await publishPaced(topic: trigger, count: latencyCount, rate: options.ratePerSecond)
        let latency = try await collected
        progress("    raw produce→consume latency at the same rate…")
        let rawLatency = try await rawLatency(topic: rawLatencyTopic, count: latencyCount)

        await pipeline.stop()
        await results.close()
        try await FunctionDeployer.with(connection: connection, signingKey: BenchmarkKey.key) {
            try await $0.delete(name: function)
        }
        _ = try? await admin.deleteTopics(topics + [warmupTopic])
        await admin.close()
        return Report(
            rawEPS: rawEPS, passthroughSpreadPercent: spread, kcatEPS: kcatEPS, pipelineEPS: pipelineEPS,
            latencyMs: Percentiles(latency.total),
            rawLatencyMs: Percentiles(rawLatency),
            stagesMs: zip(ResultReader.stageNames, latency.stages.map(Percentiles.init)).map { ($0, $1) },
            cpuMicrosPerEvent: cpuPerEvent)
    }

    /// 100-byte records; the value starts with the send time (µs since the epoch) for latency.
    static func payload(sentMicros: Int64) -> [UInt8] {
        let head = Array("{\"t\":\(sentMicros),\"pad\":\"".utf8)
        return head + Array(repeating: UInt8(ascii: "x"), count: max(0, 98 - head.count)) + Array("\"}".utf8)
    }

    static var nowMicros: Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000) }

    private func publishPaced(topic: String, count: Int, rate: Int?) async throws {
        try await BenchmarkPublisher(connection: connection, warmupTopic: warmupTopic).publish(
            topic: topic, count: count, rate: rate)
    }

    private func rawPassthrough(from input: String, to output: String, count: Int) async throws -> Double {
        let consumer = try KafkaConsumer.make(ConsumerConfiguration(connection: connection))
        let producer = try KafkaProducer.make(ProducerConfiguration(connection: connection))
        // Warm on the output topic itself: the first record to a new topic waits for its metadata.
        _ = try await producer.send(ProducerRecord(topic: output, value: Array("warm-up".utf8)))
        // Offset 0, not "beginning": no offset lookup per partition before the first fetch.
        try await consumer.assign((0..<6).map { TopicPartitionOffset(TopicPartition(input, $0), offset: 0) })
        var started: ContinuousClock.Instant?
        var deliveries: [PendingDelivery] = []
        for await event in consumer.events {
            guard case .record(let record) = event else { continue }
            if started == nil { started = .now }
            deliveries.append(
                try await producer.enqueue(
                    ProducerRecord(topic: output, key: record.key, value: record.value, headers: record.headers)))
            if deliveries.count == count { break }
        }
        for delivery in deliveries { _ = try await delivery.position() }
        let seconds = (ContinuousClock.now - (started ?? .now)) / .seconds(1)
        await consumer.close()
        await producer.close()
        return Double(count) / seconds
    }

    private func rawLatency(topic: String, count: Int) async throws -> Histogram<UInt64> {
        let admin = try KafkaAdmin.make(connection)
        let marks = try await admin.highWatermarks(topics: [topic])
        await admin.close()
        let consumer = try KafkaConsumer.make(ConsumerConfiguration(connection: connection))
        try await consumer.assign(marks.map { TopicPartitionOffset($0.key, offset: $0.value) })
        let reader = Task {
            var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000)
            var seen = 0
            for await event in consumer.events {
                guard case .record(let record) = event, let sent = Self.sentMicros(record.value) else { continue }
                seen += 1
                if seen <= 20 { continue }
                _ = histogram.record(UInt64(max(0, Self.nowMicros - sent)))
                if seen == count + 20 { break }
            }
            return histogram
        }
        // Warm-up records until the consumer is fetching, so the measured ones do not wait for its start.
        try await publishPaced(topic: topic, count: 20, rate: options.ratePerSecond)
        try await publishPaced(topic: topic, count: count, rate: options.ratePerSecond)
        let histogram = await reader.value
        await consumer.close()
        return histogram
    }

    static func sentMicros(_ value: [UInt8]?) -> Int64? {
        guard let value, value.count > 6, let end = value[5...].firstIndex(of: UInt8(ascii: ",")) else { return nil }
        return Int64(String(decoding: value[5..<end], as: UTF8.self))
    }

    private func deployNoop(name: String, trigger: String) async throws -> FunctionSpec {
        try await BenchmarkFunction.deploy(
            name: name, handler: "def main(event, context):\n    return event\n", connection: connection
        ) { manifest in
            manifest.maxConcurrency = options.workerConcurrency
            manifest.minWarm = 2
            manifest.eventTriggers = [trigger]
        }
    }
}
