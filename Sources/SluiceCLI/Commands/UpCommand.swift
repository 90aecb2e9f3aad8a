import ArgumentParser
import Logging
import SluicePlatform
import SluiceSupport

/// `sluice up`: the platform in the foreground (what `make up` runs).
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract:
            "Run the platform until Ctrl-C: embedded broker, Topics/, Config/functions, router, the worker supervisor and the dashboard.",
        discussion: "Example:\n  sluice up --port 9092    (then, in another terminal: sluice tail orders.created)"
    )

    @Option(help: "Port of the embedded broker on 127.0.0.1.") var port: Int = 9092
    @Option(name: .customLong("dashboard-port"), help: "Port of the dashboard on 127.0.0.1.") var dashboardPort: Int =
        8080

    func run() async throws {
        var platform = LocalPlatform()
        platform.brokerPort = port
        platform.dashboardPort = dashboardPort
        try await ProcessServices.run([platform], gracePeriod: .seconds(60), logger: Logger(label: "sluice.up"))
    }
}
