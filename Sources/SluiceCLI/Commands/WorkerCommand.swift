import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SluiceFunctions
import SluiceMetrics
import SluicePipeline
import SluiceRecords
import SluiceRegistry
import SluiceSandbox
import SluiceSupport

/// `sluice worker`.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run functions for invocation requests, as a member of the sluice-workers group.",
        discussion: """
            Runs until SIGINT/SIGTERM, then finishes the invocations it took, commits and exits (after 30 s \
            what still runs is cut short and redelivered). Offsets commit only for finished work, so a \
            worker killed with SIGKILL loses nothing: its records are redone by another member, and those \
            that already succeeded are not run again.

            Failed attempts are retried by the function's retry policy through the retry tier topics \
            (the worker consumes them too, as group <group>-retry); what is not retried goes to the \
            dead-letter topic (see `sluice dlq`).

            Only versions signed by a trusted deploy key run (deploy.trusted_keys in Config/platform.yaml, \
            --trusted-key); their code is fetched from sluice.artifacts into .run/artifacts, checked against \
            its digest and unpacked there.

            Example:
              sluice worker --concurrency 16 --id worker-1 --trusted-key "$(cat deploy-key.pub)"
            """
    )

    @Option(help: "Invocations running at once.") var concurrency: Int = 16
    @Option(help: "This worker's id in results and logs. Default: worker-<pid>.") var id: String?
    @Option(name: .customLong("invocations-topic"), help: "The topic of invocation requests.")
    var invocationsTopic = PlatformTopics.standard.invocations
    @Option(help: "The consumer group (its retry consumer is the group + \"-retry\").") var group = "sluice-workers"
    @Option(name: .customLong("retry-prefix"), help: "Retry tier topics are this prefix + a delay (1s, 10m…).")
    var retryPrefix = PlatformTopics.standard.retryPrefix
    @Option(name: .customLong("dlq-topic"), help: "The dead-letter topic.") var deadLetterTopic = PlatformTopics
        .standard.deadLetters
    @Option(name: .customLong("platform-config"), help: "Platform configuration. Default: Config/platform.yaml.")
    var platformConfig: String?
    @Option(name: .customLong("metrics-port"), help: "Serve Prometheus metrics at http://127.0.0.1:PORT/metrics.")
    var metricsPort: Int?
    @Option(
        name: .customLong("revocation-grace"),
        help: """
            Seconds a rebalance waits for running invocations of the partitions it moves (they finish here instead of running again on the next owner); 0 does not wait. Above 6.6 the group's rejoin limit (10 s) grows to 1.5 times the grace, and rebalances of the group may take longer.
            """)
    var revocationGrace: Int = 6
    @OptionGroup var trust: TrustedKeyOptions
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        guard (0...600).contains(revocationGrace) else {
            throw ValidationError("--revocation-grace must be from 0 to 600 seconds")
        }
    }

    func run() async throws {
        let logger = Logger(label: "sluice.worker")
        let metrics = metricsServer(metricsPort, logger: logger)
        let kafka = connection.connection
        var configuration = Worker.Configuration(connection: kafka, workerID: id ?? "worker-\(getpid())")
        configuration.concurrency = concurrency
        configuration.topics.invocations = invocationsTopic
        configuration.topics.retryPrefix = retryPrefix
        configuration.topics.deadLetters = deadLetterTopic
        configuration.groupID = group
        configuration.revocationGrace = .seconds(revocationGrace)
        configuration.platform =
            try platformConfig.map { try PlatformConfiguration.load(path: $0, required: true) } ?? .loadProject()
        configuration.trustedKeys = Set(trust.trustedKeys)
        if configuration.allTrustedKeys.isEmpty {
            printError(
                "worker: no trusted deploy keys (deploy.trusted_keys, --trusted-key): every invocation will be rejected"
            )
        }
        let registry = try await FunctionRegistry.load(
            connection: kafka, admission: SpecAdmission(platform: configuration.platform), logger: logger)
        let worker: Worker
        do {
            worker = try await Worker.build(configuration: configuration, registry: registry, logger: logger)
        } catch let error as SandboxUnavailable {
            await registry.close()
            throw CLIError("this host cannot run function sandboxes, so the worker does not start: \(error)")
        }
        printError(worker.summary)
        try await ProcessServices.run([registry] + metrics + [worker], logger: logger)
    }
}

/// The metrics service when a port is given (metrics made before the bootstrap would report nowhere).
func metricsServer(_ port: Int?, logger: Logger) -> [any Service] {
    guard let port else { return [] }
    return [PlatformMetrics.server(port: port, logger: logger)]
}
