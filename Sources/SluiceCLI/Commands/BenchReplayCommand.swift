import ArgumentParser
import SluiceBench

/// `sluice bench replay`.
struct BenchReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "DLQ replay rate vs a raw produce of the same records.",
        discussion: """
            Writes --records dead letters, reads them back, then (a) produces the same records (key, value, \
            headers) raw and (b) replays them as `sluice dlq replay` does: ledger read, one invocation request \
            and one ledger record per dead letter, every one acknowledged. Both on one warm producer. Target: \
            ratio >= 0.5. Without --brokers it starts its own embedded broker on a free port.

            Example:
              sluice bench replay --records 20000 --json
            """)

    @Option(help: "Dead letters to replay.") var records = 20_000
    @Option(help: "Kafka brokers; default: an embedded broker of its own.") var brokers: String?
    @Flag(help: "Print one JSON object: {\"replay_rps\", \"raw_rps\", \"ratio\", \"records\", \"read_seconds\"}.")
    var json = false

    func validate() throws {
        guard records > 0 else { throw ValidationError("--records must be positive") }
    }

    func run() async throws {
        let report = try await BenchmarkCluster.with(brokers: brokers) { connection in
            try await ReplayBenchmark(connection: connection, records: records).run { if !json { printError($0) } }
        }
        if json {
            printJSON(report.jsonObject)
        } else {
            print(report.text)
        }
    }
}
