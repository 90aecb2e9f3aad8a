import ArgumentParser
import SluiceBench

/// `sluice bench pipeline`.
struct BenchPipelineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Pipeline throughput and latency vs a raw Kafka passthrough.",
        discussion: """
            (a) raw consume→produce passthrough through Sluice's Kafka layer (at least 200,000 records), and \
            the same by `kcat -C | kcat -P` when kcat is installed (`make bench` installs it), (b) publish → \
            router → worker (warm python3 no-op) → result, with the CPU each event cost, (c) end-to-end \
            latency at a steady rate vs raw produce→consume latency at the same rate. Without --brokers it \
            starts its own embedded broker on a free port.

            Example:
              sluice bench pipeline --events 20000 --json
            """)

    @Option(help: "Events for the throughput runs.") var events = 20_000
    @Option(help: "Events per second for the latency run.") var rate = 1000
    @Option(help: "Seconds of the latency run.") var seconds = 5
    @Option(help: "The no-op's max_concurrency (warm processes); the worker takes 16 invocations per process at once.")
    var concurrency = 8
    @Option(help: "Kafka brokers; default: an embedded broker of its own.") var brokers: String?
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard events > 0, rate > 0, seconds > 0, concurrency > 0 else {
            throw ValidationError("--events, --rate, --seconds and --concurrency must be positive")
        }
    }

    func run() async throws {
        var options = PipelineBenchmark.Options()
        options.events = events
        options.ratePerSecond = rate
        options.latencySeconds = seconds
        options.workerConcurrency = concurrency
        let report = try await BenchmarkCluster.with(brokers: brokers) { connection in
            try await PipelineBenchmark(connection: connection, options: options).run { if !json { printError($0) } }
        }
        if json {
            printJSON(report.jsonObject)
        } else {
            print(report.text(rate: rate))
        }
    }
}
