import ArgumentParser
import Logging
import SluicePipeline
import SluiceRecords
import SluiceRegistry
import SluiceSupport

/// `sluice router`.
struct RouterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "router",
        abstract: "Turn events on trigger topics into invocation requests (the sluice-router group).",
        discussion: """
            Runs until SIGINT/SIGTERM, then waits for the requests of the events it took to be \
            acknowledged, commits and exits.

            Example:
              sluice router --brokers 127.0.0.1:9092 --metrics-port 9100
            """
    )

    @Option(name: .customLong("invocations-topic"), help: "Where invocation requests go.") var invocationsTopic =
        PlatformTopics.standard.invocations
    @Option(name: .customLong("metrics-port"), help: "Serve Prometheus metrics at http://127.0.0.1:PORT/metrics.")
    var metricsPort: Int?
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let logger = Logger(label: "sluice.router")
        let metrics = metricsServer(metricsPort, logger: logger)
        let kafka = connection.connection
        let registry = try await FunctionRegistry.load(connection: kafka, admission: .project(), logger: logger)
        var configuration = Router.Configuration(connection: kafka)
        configuration.topics.invocations = invocationsTopic
        let router = Router(configuration: configuration, registry: registry, logger: logger)
        printError(
            "router running on \(kafka.brokerList); triggers: \(registry.triggerTopics.sorted().joined(separator: ", "))"
        )
        try await ProcessServices.run([registry] + metrics + [router], logger: logger)
    }
}
