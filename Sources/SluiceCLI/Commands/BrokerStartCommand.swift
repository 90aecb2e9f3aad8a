import ArgumentParser

/// `sluice broker start`.
struct BrokerStartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start", abstract: "Start the broker and wait until it answers.",
        discussion: "Example: sluice broker start --port 19092")
    @OptionGroup var location: BrokerLocationOptions

    func run() async throws {
        let broker = location.broker
        let (pid, already) = try await broker.start()
        print(
            already
                ? "broker already running at \(broker.address) (pid \(pid))"
                : "broker started at \(broker.address) (pid \(pid), log \(broker.logFile.path))")
    }
}
