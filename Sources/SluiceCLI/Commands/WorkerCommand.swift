import ArgumentParser
import Foundation
import Logging
import SluiceFunctions
import SluiceMetrics
import SluicePipeline
import SluiceRuntime
import SluiceSandbox
import SluiceSupport

/// `sluice worker`.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run functions for invocation requests, as a member of the sluice-workers group.",
        discussion: """
            Runs until SIGINT/SIGTERM, then finishes the invocations it took, commits and exits. Offsets \
            commit only for finished work, so a worker killed with SIGKILL loses nothing: its records are \
            redone by another member, and those that already succeeded are not run again.

            Failed attempts are retried by the function's retry policy through the retry tier topics \
            (the worker consumes them too, as group <group>-retry); what is not retried goes to the \
            dead-letter topic (see `sluice dlq`).

            Example:
              sluice worker --concurrency 16 --id worker-1
            """
    )

    @Option(help: "Invocations running at once.") var concurrency: Int = 16
    @Option(help: "This worker's id in results and logs. Default: worker-<pid>.") var id: String?
    @Option(name: .customLong("invocations-topic"), help: "The topic of invocation requests.") var invocationsTopic = "sluice.invocations"
    @Option(help: "The consumer group (its retry consumer is the group + \"-retry\").") var group = "sluice-workers"
    @Option(name: .customLong("retry-prefix"), help: "Retry tier topics are this prefix + a delay (1s, 10m…).") var retryPrefix = RetryTiers.defaultPrefix
    @Option(name: .customLong("dlq-topic"), help: "The dead-letter topic.") var deadLetterTopic = DeadLetter.topic
    @Option(name: .customLong("platform-config"), help: "Platform configuration. Default: Config/platform.yaml.") var platformConfig: String?
    @Option(name: .customLong("metrics-port"), help: "Serve Prometheus metrics at http://127.0.0.1:PORT/metrics.") var metricsPort: Int?
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
    }

    func run() async throws {
        let logger = Logger(label: "sluice.worker")
        // Metrics made before the bootstrap would report nowhere.
        if metricsPort != nil { _ = PlatformMetrics.registry }
        let kafka = connection.connection
        let platform = try platformConfig.map { try PlatformConfiguration.load(path: $0, required: true) } ?? PlatformConfiguration.loadProject()
        let registry = try await FunctionRegistry.load(connection: kafka, logger: logger)
        let index = try await OutcomeIndex.start(connection: kafka, logger: logger)
        var workerConfiguration = Worker.Configuration(connection: kafka, workerID: id ?? "worker-\(getpid())")
        workerConfiguration.concurrency = concurrency
        workerConfiguration.topic = invocationsTopic
        workerConfiguration.groupID = group
        workerConfiguration.retryTiers = try await RetryTiers.discover(prefix: retryPrefix, connection: kafka)
        workerConfiguration.deadLetterTopic = deadLetterTopic
        workerConfiguration.platform = platform
        let sandboxing: Sandboxing
        do {
            sandboxing = try await Sandboxing.prepare(allowWithoutCgroups: platform.allowWithoutCgroups)
        } catch let error as SandboxUnavailable {
            throw CLIError("this host cannot run function sandboxes, so the worker does not start: \(error)")
        }
        let launcher = ProcessLauncher(
            sandboxing: sandboxing, allowIsolationNone: platform.allowIsolationNone, uid: platform.sandboxUID, gid: platform.sandboxGID)
        let worker = Worker(
            configuration: workerConfiguration, registry: registry, runner: FunctionRunner(launcher: launcher, logger: logger), index: index, logger: logger)
        printError(
            "worker \(workerConfiguration.workerID) running on \(kafka.brokerList) with \(registry.all.count) functions; sandboxes with cgroup \(sandboxing.cgroups?.version ?? "none (no resource limits)")")
        try await ServiceRunner.run(logger: logger, stop: { worker.stop() }, main: { try await worker.run() }, helpers: [
            { await registry.follow() }, { await index.follow() }, metricsServer(metricsPort, logger: logger),
        ])
        await registry.close()
        await index.close()
        sandboxing.removeSpares()
    }
}

/// `sluice router`.
struct RouterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "router",
        abstract: "Turn events on trigger topics into invocation requests (the sluice-router group).",
        discussion: "Runs until SIGINT/SIGTERM.\n\nExample:\n  sluice router --brokers 127.0.0.1:9092"
    )

    @Option(name: .customLong("invocations-topic"), help: "Where invocation requests go.") var invocationsTopic = "sluice.invocations"
    @Option(name: .customLong("metrics-port"), help: "Serve Prometheus metrics at http://127.0.0.1:PORT/metrics.") var metricsPort: Int?
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let logger = Logger(label: "sluice.router")
        if metricsPort != nil { _ = PlatformMetrics.registry }
        let kafka = connection.connection
        let registry = try await FunctionRegistry.load(connection: kafka, logger: logger)
        var routerConfiguration = Router.Configuration(connection: kafka)
        routerConfiguration.invocationsTopic = invocationsTopic
        let router = Router(configuration: routerConfiguration, registry: registry, logger: logger)
        printError("router running on \(kafka.brokerList); triggers: \(registry.triggerTopics.sorted().joined(separator: ", "))")
        try await ServiceRunner.run(
            logger: logger, stop: { router.stop() }, main: { try await router.run() },
            helpers: [{ await registry.follow() }, metricsServer(metricsPort, logger: logger)])
        await registry.close()
    }
}

/// A helper serving `/metrics` on `port` (nothing without a port); a port that cannot be bound is logged.
func metricsServer(_ port: Int?, logger: Logger) -> @Sendable () async -> Void {
    {
        guard let port else { return }
        do {
            try await PlatformMetrics.serve(port: port, logger: logger)
        } catch {
            logger.error("cannot serve metrics", metadata: ["port": "\(port)", "error": "\(error)"])
        }
    }
}

/// Runs a long-lived component with its helpers until SIGINT/SIGTERM, then stops it gracefully.
enum ServiceRunner {
    static func run(
        logger: Logger, stop: @escaping @Sendable () -> Void, main: @escaping @Sendable () async throws -> Void,
        helpers: [@Sendable () async -> Void]
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for helper in helpers { group.addTask { await helper() } }
            group.addTask {
                let signal = await SignalWaiter.wait()
                logger.info("stopping", metadata: ["signal": "\(signal)"])
                stop()
            }
            try await main()
            group.cancelAll()
        }
    }
}
