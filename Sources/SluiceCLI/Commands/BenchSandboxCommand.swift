import ArgumentParser
import SluiceBench
import SluiceSandbox

/// `sluice bench sandbox`.
struct BenchSandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Sandbox start cost vs a plain process and bubblewrap.",
        discussion: """
            Spawn-to-exit of /bin/true (i) plain, (ii) under `bwrap --ro-bind / / --unshare-all \
            --die-with-parent`, (iii) under the Sluice sandbox with its full policy (cgroup made and \
            removed, namespaces, read-only root, seccomp, rlimits), and in a standby sandbox made ahead \
            (from the byte that starts it to the exit); (iv) request-to-first-reply of a python3 function \
            that needs a new instance — a new process, and a standby started ahead — for a no-op handler \
            and one importing heavier standard-library modules; (v) warm invocations per second. Prints \
            p50/p99 and the ratios to bubblewrap (targets: sandbox <= 1.0; standby <= 0.5 at p50 and \
            <= 1.0 at p99). Needs root and bubblewrap (`make deps` installs it).

            Example:
              sluice bench sandbox --runs 200 --json
            """)

    @Option(help: "Runs of (i)–(iii): 1,000 make p99 the 10th-slowest, not the 2nd.") var runs = 1000
    @Option(name: .customLong("python-runs"), help: "Runs of (iv).") var pythonRuns = 30
    @Flag(
        help:
            "Print one JSON object: {plain_ms, bwrap_ms, sluice_ms, sluice_without_cgroup_ms, standby_ms, python_warm_start_ms, python_fast_start_ms, python_heavy_start_ms, python_heavy_fast_start_ms: {p50, p99}, ratio, standby_ratio, warm_batched_per_s, warm_single_per_s}."
    )
    var json = false

    func validate() throws {
        guard runs > 0, pythonRuns > 0 else { throw ValidationError("--runs and --python-runs must be positive") }
    }

    func run() async throws {
        let report: SandboxBenchmark.Report
        do {
            report = try await SandboxBenchmark(runs: runs, pythonRuns: pythonRuns).run { if !json { printError($0) } }
        } catch let error as SandboxUnavailable {
            throw CLIError("\(error)")
        }
        if json {
            printJSON(report.jsonObject)
        } else {
            print(report.text)
        }
    }
}
