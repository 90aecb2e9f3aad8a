import Foundation
import Logging
import SluiceFunctions
import SluiceKafka
import SluiceRegistry

/// `sluice bench functions`: one function's throughput with it alone in the registry, and again with
/// `functions` deployed over `topics` trigger topics (the seed's metadata cache and hot-partition
/// concern); and how soon a new worker serves, from its start to its first result, in both.
public struct FunctionsBenchmark: Sendable {
    public struct Options: Sendable {
        public var events = 20_000
        public var functions = 1000
        public var topics = 100
        public init() {}
    }

    public struct Report: Sendable {
        public var options: Options
        public var aloneEPS: Double
        public var crowdedEPS: Double
        public var deploySeconds: Double
        /// From building a worker (its registry loaded) to its first result.
        public var aloneReadySeconds: Double
        public var crowdedReadySeconds: Double
        public var ratio: Double { aloneEPS > 0 ? crowdedEPS / aloneEPS : 0 }
    }

    let connection: KafkaConnection
    let options: Options
    let logger = Logger(label: "sluice.bench")
    private let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)

    public init(connection: KafkaConnection, options: Options) {
        self.connection = connection
        self.options = options
    }

    public func run(progress: @Sendable (String) -> Void) async throws -> Report {
        let trigger = "bench.\(tag).fn-trigger"
        let invocations = "bench.\(tag).fn-invocations"
        let warmup = "bench.\(tag).fn-warmup"
        let crowd = (0..<options.topics).map { "bench.\(tag).fn-topic-\($0)" }
        let admin = try KafkaAdmin.make(connection)
        _ = try await admin.createTopics(
            [NewTopic(name: trigger, partitions: 6), NewTopic(name: invocations, partitions: 6)]
                + ([warmup] + crowd).map { NewTopic(name: $0, partitions: 1) })
        let publisher = BenchmarkPublisher(connection: connection, warmupTopic: warmup)
        let measured = "bench-fn-\(tag)"
        _ = try await BenchmarkFunction.deploy(
            name: measured, handler: "def main(event, context):\n    return event\n", connection: connection
        ) { manifest in
            manifest.maxConcurrency = 8
            manifest.minWarm = 2
            manifest.eventTriggers = [trigger]
        }
        progress("(a) \(options.events) events of one function, alone in the registry…")
        let alone = try await throughput(
            of: measured, trigger: trigger, invocations: invocations, round: "alone", publisher: publisher)
        progress(String(format: "    %.0f events/s; the worker served %.2f s after its start", alone.eps, alone.ready))

        let others = options.functions - 1
        progress("(b) deploying \(others) more functions over \(options.topics) trigger topics…")
        let deployStart = ContinuousClock.now
        try await deployCrowd(count: others, topics: crowd, progress: progress)
        let deploySeconds = (ContinuousClock.now - deployStart) / .seconds(1)
        progress(String(format: "    deployed in %.1f s", deploySeconds))
        progress("(c) the same \(options.events) events with \(options.functions) functions deployed…")
        let crowded = try await throughput(
            of: measured, trigger: trigger, invocations: invocations, round: "crowded", publisher: publisher)
        progress(
            String(format: "    %.0f events/s; the worker served %.2f s after its start", crowded.eps, crowded.ready))

        try await FunctionDeployer.with(connection: connection, signingKey: BenchmarkKey.key) { deployer in
            try await deployer.delete(name: measured)
            for index in 0..<others { try await deployer.delete(name: "bench-fn-\(tag)-\(index)") }
        }
        _ = try? await admin.deleteTopics([trigger, invocations, warmup] + crowd)
        await admin.close()
        return Report(
            options: options, aloneEPS: alone.eps, crowdedEPS: crowded.eps, deploySeconds: deploySeconds,
            aloneReadySeconds: alone.ready, crowdedReadySeconds: crowded.ready)
    }

    /// Functions named `bench-fn-<tag>-<n>`, one trigger topic each in turn, sharing one code folder.
    private func deployCrowd(count: Int, topics: [String], progress: @Sendable (String) -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-bench-fn-\(tag)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "def main(event, context):\n    return event\n".write(
            to: folder.appendingPathComponent("handler.py"), atomically: true, encoding: .utf8)
        try await FunctionDeployer.with(connection: connection, signingKey: BenchmarkKey.key) { deployer in
            for index in 0..<count {
                var manifest = FunctionManifest(
                    name: "bench-fn-\(tag)-\(index)", tenant: "bench", runtime: .python3, handler: "handler.main",
                    codePath: folder.path)
                manifest.eventTriggers = [topics[index % topics.count]]
                _ = try await deployer.deploy(manifest, force: true)
                if (index + 1) % 250 == 0 { progress("    \(index + 1) of \(count)") }
            }
        }
    }

    /// A router and a worker of their own groups, routing every function of this run (not those of a
    /// platform the brokers may serve): the worker's time from its start to the first result, then
    /// `events` events through both.
    private func throughput(
        of function: String, trigger: String, invocations: String, round: String, publisher: BenchmarkPublisher
    ) async throws -> (eps: Double, ready: Double) {
        let results = try await ResultReader.start(connection: connection, function: function)
        let pipeline = try await BenchmarkPipeline(connection: connection, invocations: invocations, logger: logger)
        pipeline.startRouter(
            groupID: "bench-fn-router-\(tag)-\(round)",
            functions: Set(pipeline.registry.all.map(\.name).filter { $0.hasPrefix("bench-fn-\(tag)") }))
        // The first event waits in Kafka while the worker starts.
        try await publisher.publish(topic: trigger, count: 1, rate: nil)
        let workerStart = ContinuousClock.now
        try await pipeline.startWorker(
            id: "bench-fn-worker-\(round)", groupID: "bench-fn-workers-\(tag)-\(round)", processes: 8)
        _ = try await results.collect(1, timeout: .seconds(120))
        let ready = (ContinuousClock.now - workerStart) / .seconds(1)
        let started = ContinuousClock.now
        try await publisher.publish(topic: trigger, count: options.events, rate: nil)
        _ = try await results.collect(options.events, timeout: .seconds(600))
        let eps = Double(options.events) / ((ContinuousClock.now - started) / .seconds(1))
        await pipeline.stop()
        await results.close()
        return (eps, ready)
    }
}
