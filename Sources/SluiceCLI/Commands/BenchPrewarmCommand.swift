import ArgumentParser
import Foundation
import SluiceBench

/// `sluice bench prewarm`.
struct BenchPrewarmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prewarm",
        abstract: "Cold starts in periodic bursts with predictive pre-warming off and on.",
        discussion: """
            A pattern of bursts — nothing, then 150 events per second of a 20 ms python3 function for 2 s, \
            every 12 s (a day compressed; the supervisor's forecast uses 1 s buckets and a 12 s period) — is \
            played twice through a supervisor and one worker: prediction off, then on (learning from \
            nothing). After 2 learning periods, --periods are measured: the share of invocations that waited \
            for a new process, their p99 latency, and the function's warm-process-seconds. Targets: cold \
            starts reduced by >= 80 %, at <= 1.2x the warm-process-seconds. Without --brokers it starts its \
            own embedded broker.

            Example:
              sluice bench prewarm --periods 4 --json
            """)

    @Option(help: "Measured periods per play (after 2 learning periods).") var periods = 4
    @Option(help: "Kafka brokers; default: an embedded broker of its own.") var brokers: String?
    @Flag(
        help:
            "Print one JSON object: {off, on: {invocations, cold_starts, cold_start_rate, p99_ms, warm_process_seconds}, cold_start_reduction, warm_ratio}."
    )
    var json = false

    func validate() throws {
        guard (1...20).contains(periods) else { throw ValidationError("--periods must be 1 to 20") }
    }

    func run() async throws {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let report = try await BenchmarkCluster.with(brokers: brokers) { connection in
            try await PrewarmBenchmark(connection: connection, executable: executable, measuredPeriods: periods).run {
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
