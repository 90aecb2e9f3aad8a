import ArgumentParser
import SluicePlatform

/// `sluice down`: stops what `sluice up` left running.
struct DownCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down", abstract: "Stop whatever `sluice up` (make up) left running.",
        discussion: "Example:\n  sluice down --port 9092")

    @Option(help: "Port of the embedded broker on 127.0.0.1.") var port: Int = 9092

    func run() async throws {
        var platform = LocalPlatform()
        platform.brokerPort = port
        let stopped = await platform.stopRunning()
        print(stopped.isEmpty ? "nothing of Sluice's was running" : stopped.joined(separator: "\n"))
    }
}
