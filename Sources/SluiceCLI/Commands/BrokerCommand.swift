import ArgumentParser
import Foundation
import SluiceBroker

/// `sluice broker start|stop|status`.
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run the embedded Kafka-protocol broker (Tansu) in the background.",
        discussion: """
            The broker keeps its data in memory: stopping it loses every topic and record.
            Its pid file and log live in the run folder (default .run/ of the checkout).

            Example:
              sluice broker start --port 9092 && sluice broker status
            """,
        subcommands: [Start.self, Stop.self, Status.self]
    )

    struct Location: ParsableArguments {
        @Option(help: "Port on 127.0.0.1.") var port: Int = 9092
        @Option(name: .customLong("data-dir"), help: ArgumentHelp("Folder for the pid file and log.", valueName: "dir"))
        var dataDir: String?

        var broker: EmbeddedBroker {
            EmbeddedBroker(port: port, runDirectory: dataDir.map { URL(fileURLWithPath: $0) })
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start the broker and wait until it answers.", discussion: "Example: sluice broker start --port 19092")
        @OptionGroup var location: Location

        func run() async throws {
            let broker = location.broker
            let (pid, already) = try await broker.start()
            print(already ? "broker already running at \(broker.address) (pid \(pid))" : "broker started at \(broker.address) (pid \(pid), log \(broker.logFile.path))")
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the broker started by `broker start`.", discussion: "Example: sluice broker stop --port 19092")
        @OptionGroup var location: Location

        func run() async throws {
            let broker = location.broker
            print(await broker.stop() ? "broker at \(broker.address) stopped" : "no broker of ours was running at \(broker.address)")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Say whether the broker runs and answers; exits 1 when it does not.", discussion: "Example: sluice broker status --json")
        @OptionGroup var location: Location
        @Flag(help: "Print one JSON object.") var json = false

        func run() async throws {
            let broker = location.broker
            let pid = broker.runningPID()
            let answers = await broker.answers()
            if json {
                printJSON(["address": broker.address, "pid": pid.map { Int($0) as Any } ?? NSNull(), "answers": answers])
            } else if answers {
                print("broker at \(broker.address) answers" + (pid.map { " (pid \($0))" } ?? " (not started by sluice)"))
            } else {
                print("no broker answers at \(broker.address)" + (pid.map { " (pid \($0) is running but does not answer)" } ?? ""))
            }
            if !answers { throw ExitCode(1) }
        }
    }
}
