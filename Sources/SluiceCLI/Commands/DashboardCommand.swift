import ArgumentParser
import Foundation
import Logging
import SluiceDashboard
import SluiceSupport

/// `sluice dashboard`.
struct DashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Serve the topic-lag and functions dashboard (and its JSON API and /metrics).",
        discussion: """
            Open http://127.0.0.1:PORT/ for every consumer group and topic with lag, lag time, rates and \
            status, per-function panels (invocations/s, error rate, duration percentiles, cold starts, warm \
            processes, dead letters), and lag-over-time charts of the last hour. The page refreshes every \
            second and needs nothing from the internet. API: /api/lag (as `sluice lag --json`), /api/groups, \
            /api/topics, /api/functions, /api/scaling; Prometheus: /metrics. `make up` starts it on port 8080.

            Example:
              sluice dashboard --port 8080
            """
    )

    @Option(help: "Port to serve on.") var port = 8080
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Only this consumer group (repeatable).") var group: [String] = []
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard (1...65_535).contains(port) else { throw ValidationError("--port must be 1…65535") }
    }

    func run() async throws {
        let logger = Logger(label: "sluice.dashboard")
        var options = DashboardState.Options()
        if !group.isEmpty { options.groups = Set(group) }
        let state = try DashboardState(connection: connection.connection, options: options, logger: logger)
        printError("dashboard on http://\(host):\(port)/ (brokers \(connection.brokerList))")
        try await ProcessServices.run(
            [DashboardServer(state: state, host: host, port: port, logger: logger)], logger: logger)
    }
}
