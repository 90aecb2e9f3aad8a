import Foundation
import Logging
import ServiceLifecycle
import SluiceArtifacts
import SluiceFunctions
import SluiceKafka
import SluicePipeline
import SluiceRecords
import SluiceRegistry
import SluiceRuntime
import SluiceSupport
import Synchronization

/// Functions, workers and routers for pipeline tests, on the test broker. Each test deploys functions
/// with unique names and uses its own invocations, retry tier and dead-letter topics, so tests run in
/// parallel without sharing work.
public struct PipelineHarness: Sendable {
    public let connection: KafkaConnection
    public let invocationsTopic: String
    /// `<invocations topic>.retry.`, followed by `1s` and `10s`.
    public let retryPrefix: String
    public let deadLetterTopic: String
    /// The invocation log and load samples / Scaling Events: the platform's shared topics, or with
    /// `ownTelemetry` topics of this test alone (a test that reads them from their tail is not pushed
    /// off it by the rest of the suite writing there).
    public var invocationLogTopic = PlatformTopics.standard.invocationLog
    public var scalingTopic = PlatformTopics.standard.scaling
    public let logger = Logger(label: "sluice.test")

    public static func make(ownTelemetry: Bool = false) async throws -> PipelineHarness {
        let invocations = try await makeTestTopic("invocations", partitions: 6)
        let retryPrefix = invocations + ".retry."
        try await makeTopics([retryPrefix + "1s", retryPrefix + "10s"], partitions: 3)
        var harness = PipelineHarness(
            connection: try await TestBroker.connection(), invocationsTopic: invocations, retryPrefix: retryPrefix,
            deadLetterTopic: try await makeTestTopic("dlq", partitions: 3))
        if ownTelemetry {
            harness.invocationLogTopic = try await makeTestTopic("invocation-log", partitions: 3)
            harness.scalingTopic = try await makeTestTopic("scaling", partitions: 3)
        }
        return harness
    }

    /// Options that point `sluice worker` at this test's topics.
    public var workerArguments: [String] {
        [
            "--brokers", connection.brokerList, "--invocations-topic", invocationsTopic, "--retry-prefix", retryPrefix,
            "--dlq-topic", deadLetterTopic, "--trusted-key", TestDeployKey.publicKey,
        ]
    }

    /// Writes `files` into a fresh code folder and a manifest (YAML body without `code:`) next to it;
    /// returns the manifest's path.
    public func writeFunction(_ manifestBody: String, files: [String: String]) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("fn"))
        let code = folder.appendingPathComponent("code")
        try FileManager.default.createDirectory(at: code, withIntermediateDirectories: true)
        for (name, content) in files {
            let path = code.appendingPathComponent(name)
            try content.write(to: path, atomically: true, encoding: .utf8)
            if name.hasSuffix(".sh") {
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path.path)
            }
        }
        let manifest = folder.appendingPathComponent("manifest.yaml")
        try (manifestBody + "\ncode: code\n").write(to: manifest, atomically: true, encoding: .utf8)
        return manifest.path
    }

    /// Deploys a manifest file and returns the deployed spec.
    @discardableResult
    public func deploy(_ manifestPath: String, platform: PlatformConfiguration = .standard) async throws
        -> FunctionSpec
    {
        let registry = try await FunctionRegistry.load(
            connection: connection, admission: SpecAdmission(platform: platform), logger: logger)
        let producer = try KafkaProducer.make(ProducerConfiguration(connection: connection))
        let deployer = FunctionDeployer(
            producer: producer, registry: registry, signingKey: TestDeployKey.key,
            shelf: ArtifactShelf(connection: connection))
        let outcome = try await deployer.deploy(
            try FunctionManifest.load(path: manifestPath, platform: platform), force: true)
        await producer.close()
        await registry.close()
        guard case .deployed(let spec) = outcome else { throw TestSetupError("not deployed") }
        return spec
    }

    /// Deploys a python3 function `handler.main` named `<prefix>-<unique>` (tenant acme), its `handler.py`
    /// being `code`, with `fields` (manifest YAML lines) added; returns its name.
    public func deployPython(_ prefix: String, code: String, fields: String = "") async throws -> String {
        let name = uniqueName(prefix)
        try await deploy(
            try writeFunction(
                "name: \(name)\ntenant: acme\nruntime: python3\nhandler: handler.main\n\(fields)",
                files: ["handler.py": code]))
        return name
    }

    /// The artifact cache of the harness's workers (unless `startWorker` is given another): the project's.
    public var artifactCache: ArtifactCache {
        ArtifactCache(root: ProjectPaths.discover().run.appendingPathComponent("artifacts").path)
    }

    /// A registry that follows the topic, for in-process workers and routers.
    public func liveRegistry(platform: PlatformConfiguration = .standard) async throws -> (
        FunctionRegistry, Task<Void, Never>
    ) {
        let registry = try await FunctionRegistry.load(
            connection: connection, admission: SpecAdmission(platform: platform), logger: logger)
        return (registry, Task { try? await registry.run() })
    }

    /// The platform topics of this test: its own invocations, retry tiers and dead letters.
    public var topics: PlatformTopics {
        var topics = PlatformTopics.standard
        topics.invocations = invocationsTopic
        topics.retryPrefix = retryPrefix
        topics.deadLetters = deadLetterTopic
        topics.invocationLog = invocationLogTopic
        topics.scaling = scalingTopic
        return topics
    }

    /// Starts an in-process worker on this test's topics (built as `sluice worker` builds it); stop it
    /// with `stop()`, a graceful shutdown. `clientProperties` override librdkafka settings of its clients;
    /// `artifactCache`: its own artifact cache folder (default: the project's `.run/artifacts`).
    public func startWorker(
        registry: FunctionRegistry, concurrency: Int = 16, id: String = "test-worker",
        platform: PlatformConfiguration = .standard, clientProperties: [String: String] = [:],
        artifactCache: String? = nil
    ) async throws -> RunningService {
        var workerConnection = connection
        workerConnection.properties.merge(clientProperties) { _, override in override }
        var configuration = Worker.Configuration(connection: workerConnection, workerID: id)
        configuration.topics = topics
        configuration.retryTiers = try RetryTiers.discover(
            prefix: retryPrefix, topics: [retryPrefix + "1s", retryPrefix + "10s"])
        configuration.platform = platform
        configuration.groupID = "workers-\(invocationsTopic)"
        configuration.concurrency = concurrency
        configuration.trustedKeys = [TestDeployKey.publicKey]
        configuration.artifactCache = artifactCache
        let worker = try await Worker.build(
            configuration: configuration, registry: registry, launcher: try await TestSandbox.launcher(), logger: logger
        )
        return RunningService.start([worker], logger: logger)
    }

    /// Starts an in-process router for `functions` that sends to this test's invocations topic. (The
    /// registry is shared by parallel tests; a router for every function would route theirs too.)
    public func startRouter(registry: FunctionRegistry, functions: Set<String>) -> RunningService {
        var configuration = Router.Configuration(connection: connection)
        configuration.topics = topics
        configuration.functions = functions
        configuration.groupID = "router-\(invocationsTopic)"
        return RunningService.start(
            [Router(configuration: configuration, registry: registry, logger: logger)], logger: logger)
    }

    /// Publishes invocation requests straight to this test's invocations topic.
    public func publishRequests(function: String, count: Int, key: (Int) -> String?, value: (Int) -> String)
        async throws -> [String]
    {
        let producer = try KafkaProducer.make(ProducerConfiguration(connection: connection))
        var ids: [String] = []
        var deliveries: [PendingDelivery] = []
        for index in 0..<count {
            let id = InvocationRequest.randomID()
            ids.append(id)
            let request = InvocationRequest(
                invocationID: id, function: function, trigger: "invoke", key: key(index).map { Array($0.utf8) },
                value: Array(value(index).utf8), traceParent: .start())
            deliveries.append(try await producer.enqueue(request.producerRecord(topic: invocationsTopic)))
        }
        for delivery in deliveries { _ = try await delivery.position() }
        await producer.close()
        return ids
    }

    /// Reads `topic` (results or invocation log) from the beginning until `done` says the records of
    /// `function` seen so far are enough; returns them as JSON objects.
    public func readJSON(
        _ topic: String, function: String, timeout: Duration = .seconds(120),
        until done: @escaping @Sendable ([[String: any Sendable]]) -> Bool
    ) async throws -> [[String: any Sendable]] {
        let box = JSONAccumulator()
        _ = try await readRecords(topic, function: function, timeout: timeout) { records in
            box.add(records)
            return done(box.objects)
        }
        return box.objects
    }

    /// Reads `topic` from the beginning until `done` says the records of `function` (by the
    /// `sluice-function` header) seen so far are enough.
    public func readRecords(
        _ topic: String, function: String, timeout: Duration = .seconds(120),
        until done: @escaping @Sendable ([ConsumerRecord]) -> Bool
    ) async throws -> [ConsumerRecord] {
        let follower = try await TopicFollower.open(
            topic, from: TopicPartitionOffset.beginning, connection: connection, fetchWaitMaxMs: 10)
        let records = Mutex<[ConsumerRecord]>([])
        return try await withDeadline(timeout, "reading \(function)'s records on \(topic)") {
            if done([]) {
                await follower.close()
                return []
            }
            await follower.forEachRecord { record in
                guard record.header(SluiceHeader.function, is: function) else { return }
                let enough = records.withLock { records in
                    records.append(record)
                    return done(records)
                }
                if enough { follower.finish() }
            }
            return records.withLock { $0 }
        }
    }
}

/// Parses record values into JSON objects once each, as `readJSON` goes.
final class JSONAccumulator: Sendable {
    private let state = Mutex<(parsed: Int, objects: [[String: any Sendable]])>((0, []))

    func add(_ records: [ConsumerRecord]) {
        state.withLock { state in
            for record in records.dropFirst(state.parsed) {
                if let value = record.value,
                    let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any]
                {
                    state.objects.append(object.mapValues { Sendables.wrap($0) })
                }
            }
            state.parsed = records.count
        }
    }

    var objects: [[String: any Sendable]] { state.withLock { $0.objects } }
}

/// JSON values made Sendable for test assertions.
public enum Sendables {
    static func wrap(_ value: Any) -> any Sendable {
        switch value {
        case let text as String: return text
        case let number as NSNumber:
            // JSON true/false come back as NSNumbers of type "c".
            return String(cString: number.objCType) == "c"
                ? number.boolValue as any Sendable : number.doubleValue as any Sendable
        case let array as [Any]: return array.map(wrap)
        case let object as [String: Any]: return object.mapValues(wrap)
        default: return String(describing: value)
        }
    }
}

/// Services (a worker, a router) running in this process in their own `ServiceGroup`, built as a Sluice
/// process builds it but without signal handling.
public struct RunningService: Sendable {
    let group: ServiceGroup
    let task: Task<Void, Never>

    public static func start(_ services: [any Service], logger: Logger) -> RunningService {
        let group = ProcessServices.group(services, logger: logger)
        return RunningService(group: group, task: Task { try? await group.run() })
    }

    /// Shuts it down gracefully and waits until it finished what it took.
    public func stop() async {
        await group.triggerGracefulShutdown()
        await task.value
    }
}
