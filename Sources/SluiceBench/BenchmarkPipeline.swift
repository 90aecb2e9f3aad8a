import Logging
import SluiceKafka
import SluicePipeline
import SluiceRegistry
import SluiceRuntime
import Synchronization

/// A router and a worker that a benchmark runs in this process, on its own invocations topic and groups,
/// over one registry that follows deploys. `stop()` ends them all.
final class BenchmarkPipeline: Sendable {
    let registry: FunctionRegistry
    private let connection: KafkaConnection
    let invocations: String
    private let logger: Logger
    private let follow: Task<Void, Never>
    private let running = Mutex<[(stop: @Sendable () -> Void, task: Task<Void, any Error>)]>([])

    /// Loads the registry and follows it.
    init(connection: KafkaConnection, invocations: String, logger: Logger) async throws {
        let registry = try await FunctionRegistry.load(connection: connection, logger: logger)
        self.registry = registry
        self.connection = connection
        self.invocations = invocations
        self.logger = logger
        follow = Task { try? await registry.run() }
    }

    /// A router of `groupID` that routes only `functions` (not those of a platform the brokers may serve).
    func startRouter(groupID: String, functions: Set<String>) {
        var configuration = Router.Configuration(connection: connection)
        configuration.topics.invocations = invocations
        configuration.groupID = groupID
        configuration.functions = functions
        let router = Router(configuration: configuration, registry: registry, logger: logger)
        running.withLock { $0.append((router.stop, Task { try await router.run() })) }
    }

    /// A worker of `groupID` that takes enough invocations at once to fill the batches of `processes`
    /// warm processes; it keeps no window of earlier results (the benchmark's are all new).
    /// `artifactCache`: a cache folder of its own (default: the project's).
    func startWorker(id: String, groupID: String, processes: Int, artifactCache: String? = nil) async throws {
        var configuration = Worker.Configuration(connection: connection, workerID: id)
        configuration.topics.invocations = invocations
        configuration.resultsWindowPerPartition = 0
        configuration.groupID = groupID
        configuration.concurrency = processes * FunctionRunner.maxBatch
        configuration.trustedKeys = [BenchmarkKey.publicKey]
        configuration.artifactCache = artifactCache
        let worker = try await Worker.build(configuration: configuration, registry: registry, logger: logger)
        running.withLock { $0.append((worker.stop, Task { try await worker.run() })) }
    }

    /// Stops the router and the worker (each finishes what it took) and the registry's follower.
    func stop() async {
        let services = running.withLock { services in
            defer { services = [] }
            return services
        }
        for service in services { service.stop() }
        for service in services { _ = try? await service.task.value }
        follow.cancel()
        await follow.value
    }
}
