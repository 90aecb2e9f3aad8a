import ArgumentParser
import SluiceBench

/// `sluice bench functions`.
struct BenchFunctionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "functions",
        abstract: "One function's throughput alone vs with many functions deployed over many trigger topics.",
        discussion: """
            Deploys a python3 no-op and runs --events of its events through a router and a worker; then deploys \
            --functions - 1 more over --topics trigger topics and runs the same events through a new router and \
            worker. Prints both rates, their ratio, and each worker's time from its start to its first result. \
            Without --brokers it starts its own embedded broker on a free port.

            Example:
              sluice bench functions --functions 1000 --topics 100 --json
            """)

    @Option(help: "Events per throughput run.") var events = 20_000
    @Option(help: "Functions deployed in the second run, the measured one included.") var functions = 1000
    @Option(help: "Trigger topics the other functions are spread over.") var topics = 100
    @Option(help: "Kafka brokers; default: an embedded broker of its own.") var brokers: String?
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard events > 0, functions >= 2, topics > 0 else {
            throw ValidationError("--events and --topics must be positive and --functions at least 2")
        }
    }

    func run() async throws {
        var options = FunctionsBenchmark.Options()
        (options.events, options.functions, options.topics) = (events, functions, topics)
        let report = try await BenchmarkCluster.with(brokers: brokers) { connection in
            try await FunctionsBenchmark(connection: connection, options: options).run { if !json { printError($0) } }
        }
        if json {
            printJSON(report.jsonObject)
        } else {
            print(report.text)
        }
    }
}
