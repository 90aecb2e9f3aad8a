import ArgumentParser
import Foundation

/// `sluice broker status`.
struct BrokerStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Say whether the broker runs and answers; exits 1 when it does not.",
        discussion: "Example: sluice broker status --json")
    @OptionGroup var location: BrokerLocationOptions
    @Flag(help: "Print one JSON object: {address, pid, answers}.") var json = false

    func run() async throws {
        let broker = location.broker
        let pid = broker.runningPID()
        let answers = await broker.answers()
        if json {
            printJSON(["address": broker.address, "pid": pid.map { Int($0) as Any } ?? NSNull(), "answers": answers])
        } else if answers {
            print("broker at \(broker.address) answers" + (pid.map { " (pid \($0))" } ?? " (not started by sluice)"))
        } else {
            print(
                "no broker answers at \(broker.address)"
                    + (pid.map { " (pid \($0) is running but does not answer)" } ?? ""))
        }
        if !answers { throw ExitCode(1) }
    }
}
