import ArgumentParser
import Foundation
import SluiceBench

/// `sluice bench scaling`.
struct BenchScalingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scaling",
        abstract: "Drain rate of one worker vs the workers the autoscaler adds to a backlog.",
        discussion: """
            A supervisor starts one `sluice worker` process; --events requests of a 4 ms python3 function land \
            at once. Prints the first worker's rate alone, the best 3 s once the added workers joined and their \
            ratio, and the time from the backlog's onset to the scale-up decision and to an added worker's first \
            result. Without --brokers it starts its own embedded broker on a free port.

            Example:
              sluice bench scaling --events 20000 --json
            """)

    @Option(help: "Requests in the backlog.") var events = 20_000
    @Option(help: "Kafka brokers; default: an embedded broker of its own.") var brokers: String?
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard events >= 1000 else {
            throw ValidationError("--events must be at least 1000 (a backlog worth scaling for)")
        }
    }

    func run() async throws {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let report = try await BenchmarkCluster.with(brokers: brokers) { connection in
            try await ScalingBenchmark(connection: connection, events: events, executable: executable).run {
                if !json { printError($0) }
            }
        }
        if json {
            printJSON(report.jsonObject)
        } else {
            print(report.text)
        }
    }
}
