import ArgumentParser
import Foundation
import SluiceBench
import SluiceBroker
import SluiceKafka
import SluiceSandbox
import SluiceSupport
import SluiceTopics

/// `sluice bench …`: speed, measured against a baseline in the same run.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print figures and ratios against a baseline measured in the same run.",
        subcommands: [Pipeline.self, Replay.self, Sandbox.self]
    )

    struct Pipeline: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pipeline throughput and latency vs a raw Kafka passthrough.",
            discussion: """
                (a) raw consume→produce passthrough through Sluice's Kafka layer, (b) publish → router → worker \
                (warm python3 no-op) → result, (c) end-to-end latency at a steady rate vs raw produce→consume \
                latency at the same rate. Without --brokers it starts its own embedded broker on a free port.

                Example:
                  sluice bench pipeline --events 20000 --json
                """)

        @Option(help: "Events for the throughput runs.") var events = 20_000
        @Option(help: "Events per second for the latency run.") var rate = 1000
        @Option(help: "Seconds of the latency run.") var seconds = 5
        @Option(help: "Worker concurrency and the no-op function's max_concurrency (warm processes).") var concurrency = 8
        @Option(help: "Kafka brokers; default: an embedded broker of its own.") var brokers: String?
        @Flag(help: "Print one JSON object.") var json = false

        func validate() throws {
            guard events > 0, rate > 0, seconds > 0, concurrency > 0 else {
                throw ValidationError("--events, --rate, --seconds and --concurrency must be positive")
            }
        }

        func run() async throws {
            let (connection, broker) = try await BenchCommand.cluster(brokers)
            var options = PipelineBenchmark.Options()
            options.events = events
            options.ratePerSecond = rate
            options.latencySeconds = seconds
            options.workerConcurrency = concurrency
            let report = try await PipelineBenchmark(connection: connection, options: options).run { line in if !json { printError(line) } }
            if let broker { await broker.stop() }
            if json {
                func percentiles(_ p: PipelineBenchmark.Percentiles) -> [String: Any] { ["p50": p.p50, "p95": p.p95, "p99": p.p99] }
                printJSON([
                    "raw_eps": report.rawEPS.rounded(), "pipeline_eps": report.pipelineEPS.rounded(), "ratio": (report.ratio * 1000).rounded() / 1000,
                    "latency_ms": percentiles(report.latencyMs), "raw_latency_ms": percentiles(report.rawLatencyMs),
                ])
                return
            }
            print(String(format: "raw passthrough   %10.0f events/s", report.rawEPS))
            print(String(format: "pipeline          %10.0f events/s   ratio %.3f", report.pipelineEPS, report.ratio))
            print("latency at \(rate)/s       p50        p95        p99")
            print(String(format: "  pipeline     %8.2f ms %8.2f ms %8.2f ms", report.latencyMs.p50, report.latencyMs.p95, report.latencyMs.p99))
            print(String(format: "  raw          %8.2f ms %8.2f ms %8.2f ms", report.rawLatencyMs.p50, report.rawLatencyMs.p95, report.rawLatencyMs.p99))
        }
    }

    /// The cluster a benchmark runs on: `--brokers`, or an embedded broker of its own (stopped by the
    /// caller) — with the topics of `Topics/` applied.
    static func cluster(_ brokers: String?) async throws -> (KafkaConnection, EmbeddedBroker?) {
        var broker: EmbeddedBroker?
        let address: String
        if let brokers {
            address = brokers
        } else {
            let own = EmbeddedBroker(port: EmbeddedBroker.freePort(), runDirectory: ProjectPaths.discover().run.appendingPathComponent("bench"))
            try await own.start(lifetime: .tiedToParent)
            broker = own
            address = own.address
        }
        let connection = KafkaConnection(brokerList: address, clientID: "sluice-bench", timeoutMs: 15_000)
        let admin = try KafkaAdmin.make(connection)
        _ = try await TopicPlan.make(catalog: try TopicCatalog.load(directory: ProjectPaths.discover().topics), admin: admin).createMissing(admin: admin)
        await admin.close()
        return (connection, broker)
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
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
        @Flag(help: "Print one JSON object: {\"replay_rps\", \"raw_rps\", \"ratio\"}.") var json = false

        func validate() throws {
            guard records > 0 else { throw ValidationError("--records must be positive") }
        }

        func run() async throws {
            let (connection, broker) = try await BenchCommand.cluster(brokers)
            let report = try await ReplayBenchmark(connection: connection, records: records).run { line in if !json { printError(line) } }
            if let broker { await broker.stop() }
            if json {
                printJSON([
                    "replay_rps": report.replayRPS.rounded(), "raw_rps": report.rawRPS.rounded(), "ratio": (report.ratio * 1000).rounded() / 1000,
                    "records": records, "read_seconds": (report.readSeconds * 1000).rounded() / 1000,
                ])
                return
            }
            print(String(format: "raw produce   %10.0f records/s", report.rawRPS))
            print(String(format: "dlq replay    %10.0f records/s   ratio %.3f (target >= 0.5)", report.replayRPS, report.ratio))
            print(String(format: "(reading the %d dead letters and the replay ledger took %.2f s, once per replay: in neither figure)", records, report.readSeconds))
        }
    }

    struct Sandbox: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
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
        @Flag(help: "Print one JSON object: {plain_ms, bwrap_ms, sluice_ms, sluice_without_cgroup_ms, python_warm_start_ms: {p50, p99}, ratio}.")
        var json = false

        func validate() throws {
            guard runs > 0, pythonRuns > 0 else { throw ValidationError("--runs and --python-runs must be positive") }
        }

        func run() async throws {
            let report: SandboxBenchmark.Report
            do {
                report = try await SandboxBenchmark(runs: runs, pythonRuns: pythonRuns).run { line in if !json { printError(line) } }
            } catch let error as SandboxUnavailable {
                throw CLIError("\(error)")
            }
            func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
            func object(_ p: SandboxBenchmark.Percentiles) -> [String: Any] { ["p50": rounded(p.p50), "p99": rounded(p.p99)] }
            if json {
                printJSON([
                    "plain_ms": object(report.plain), "bwrap_ms": object(report.bwrap), "sluice_ms": object(report.sluice),
                    "sluice_without_cgroup_ms": object(report.sluiceWithoutCgroup),
                    "python_warm_start_ms": object(report.pythonWarmStart), "ratio": rounded(report.ratio),
                ])
                return
            }
            print("                              p50         p99")
            for (label, p) in [
                ("plain fork+exec", report.plain), ("bwrap", report.bwrap), ("sluice sandbox", report.sluice),
                ("  the same, no cgroup", report.sluiceWithoutCgroup),
                ("python3 no-op, first reply", report.pythonWarmStart),
            ] {
                print(label.padding(toLength: 26, withPad: " ", startingAt: 0) + String(format: "%8.2f ms %8.2f ms", p.p50, p.p99))
            }
            print(String(format: "ratio sluice/bwrap (p50)  %.2f   (target <= 1.0, goal <= 0.5)", report.ratio))
        }
    }
}
