import ArgumentParser
import Foundation
import SluiceBroker
import SluiceSupport

/// `sluice down`: stops what `sluice up` left running.
struct DownCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down",
        abstract: "Stop whatever `sluice up` (make up) left running.",
        discussion: "Example:\n  sluice down --port 9092"
    )

    @Option(help: "Port of the embedded broker on 127.0.0.1.") var port: Int = 9092
    @Option(name: .customLong("dashboard-port"), help: "Port of the dashboard on 127.0.0.1.") var dashboardPort: Int = 8080

    func run() async throws {
        let paths = ProjectPaths.discover()
        let upPID = paths.run.appendingPathComponent("up.pid")
        var stopped = false
        if let text = try? String(contentsOf: upPID, encoding: .utf8), let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)),
            ChildProcess.isAlive(pid)
        {
            await ChildProcess.terminate(pid, graceSeconds: 10)
            print("stopped sluice up (pid \(pid))")
            stopped = true
        }
        try? FileManager.default.removeItem(at: upPID)
        let broker = EmbeddedBroker(paths: paths, port: port)
        if await broker.stop() {
            print("stopped the broker at \(broker.address)")
            stopped = true
        }
        if !stopped { print("nothing of Sluice's was running") }
    }
}
