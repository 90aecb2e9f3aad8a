import ArgumentParser
import Foundation
import Logging
import SluicePlatform
import SluiceSupport

/// `sluice up`: the platform in the foreground (what `make up` runs).
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Run the platform until Ctrl-C: embedded broker, Topics/, Config/functions, router, the worker supervisor and the dashboard.",
        discussion: "Example:\n  sluice up --port 9092    (then, in another terminal: sluice tail orders.created)"
    )

    @Option(help: "Port of the embedded broker on 127.0.0.1.") var port: Int = 9092
    @Option(name: .customLong("dashboard-port"), help: "Port of the dashboard on 127.0.0.1.") var dashboardPort: Int = 8080

    func run() async throws {
        var platform = LocalPlatform()
        platform.brokerPort = port
        platform.dashboardPort = dashboardPort
        try FileManager.default.createDirectory(at: platform.paths.run, withIntermediateDirectories: true)
        let upPID = platform.paths.run.appendingPathComponent("up.pid")
        try "\(getpid())\n".write(to: upPID, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: upPID) }
        try await ProcessServices.run([platform], gracePeriod: .seconds(60), logger: Logger(label: "sluice.up"))
    }
}
