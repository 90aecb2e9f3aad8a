import ArgumentParser
import SluiceBench

/// `sluice bench compare`.
struct BenchCompareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two saved benchmark runs figure by figure; exits 1 when a figure got more than 10 % worse.",
        discussion: """
            Example:
              sluice bench compare bench/results/2026-11-30-607bae8.json bench/results/2026-12-01-0f96153.json
            """)

    @Argument(help: "The earlier run (a file written by `sluice bench all --save`).") var before: String
    @Argument(help: "The later run.") var after: String
    @Option(help: "The change, as a fraction, past which a figure counts as worse.") var threshold = 0.10

    func run() async throws {
        let (table, worse) = try BenchmarkRun.load(path: after).compared(
            with: BenchmarkRun.load(path: before), threshold: threshold)
        print(table)
        if !worse.isEmpty {
            printError(
                "worse by more than \(Int(threshold * 100)) %: \(worse.joined(separator: ", ")) — say why in the closing note"
            )
            throw ExitCode(1)
        }
    }
}
