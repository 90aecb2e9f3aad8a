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
            removed, namespaces, read-only root, seccomp, rlimits); and (iv) spawn-to-first-response of \
            a python3 no-op function under the sandbox. Prints p50/p99 and the ratio (iii)/(ii) of the \
            p50s (target <= 1.0; goal <= 0.5). Needs root and bubblewrap (`make deps` installs it).

            Example:
              sluice bench sandbox --runs 200 --json
            """)

    @Option(help: "Runs of (i)–(iii).") var runs = 200
    @Option(name: .customLong("python-runs"), help: "Runs of (iv).") var pythonRuns = 30
    @Flag(
        help:
            "Print one JSON object: {plain_ms, bwrap_ms, sluice_ms, sluice_without_cgroup_ms, python_warm_start_ms: {p50, p99}, ratio}."
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
