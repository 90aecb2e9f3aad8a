import ArgumentParser

/// `sluice broker stop`.
struct BrokerStopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop", abstract: "Stop the broker started by `broker start`.",
        discussion: "Example: sluice broker stop --port 19092")
    @OptionGroup var location: BrokerLocationOptions

    func run() async throws {
        let broker = location.broker
        print(
            await broker.stop()
                ? "broker at \(broker.address) stopped" : "no broker of ours was running at \(broker.address)")
    }
}
