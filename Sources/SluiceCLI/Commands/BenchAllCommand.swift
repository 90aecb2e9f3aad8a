import ArgumentParser
import Foundation
import SluiceBench
import SluiceRecords
import SluiceSupport

/// `sluice bench all`.
struct BenchAllCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "all",
        abstract: "Every benchmark in one run and one table: each figure, its baseline of the same run, their ratio.",
        discussion: """
            Runs pipeline, replay, sandbox, scaling, functions and deploy (what `make bench` runs). --save writes the figures to \
            bench/results/<date>-<commit>.json, for `sluice bench compare` against a later run.

            Example:
              sluice bench all --save && sluice bench compare bench/results/A.json bench/results/B.json
            """)

    @Flag(help: "Write the figures to bench/results/<date>-<commit>.json.") var save = false
    @Option(help: "Kafka brokers; default: an embedded broker of its own.") var brokers: String?
    @Flag(help: "Print the run as JSON: {commit, date, figures: [{name, value, unit, direction, baseline}]}.")
    var json = false

    func run() async throws {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let say: @Sendable (String) -> Void = { printError($0) }
        let figures = try await BenchmarkCluster.with(brokers: brokers) { connection in
            try await PipelineBenchmark(connection: connection, options: .init()).run(progress: say).figures
                + ReplayBenchmark(connection: connection, records: 20_000).run(progress: say).figures
                + SandboxBenchmark(runs: 1000, pythonRuns: 30).run(progress: say).figures
                + ScalingBenchmark(connection: connection, events: 20_000, executable: executable).run(progress: say)
                .figures
                + FunctionsBenchmark(connection: connection, options: .init()).run(progress: say).figures
                + DeployBenchmark(connection: connection, executable: executable).run(progress: say).figures
        }
        let paths = ProjectPaths.discover()
        let run = BenchmarkRun(commit: BenchmarkRun.commit(of: paths.root), date: Timestamp.rfc3339(), figures: figures)
        if json {
            printJSON(try JSONSerialization.jsonObject(with: JSONEncoder().encode(run)))
        } else {
            print(run.table)
        }
        if save { printError("saved \(try run.save(in: paths.root.appendingPathComponent("bench/results")))") }
    }
}
