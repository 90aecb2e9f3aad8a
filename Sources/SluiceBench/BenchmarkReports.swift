import Foundation

extension PipelineBenchmark.Report {
    /// `sluice bench pipeline --json`.
    public var jsonObject: [String: Any] {
        func percentiles(_ p: PipelineBenchmark.Percentiles) -> [String: Any] {
            ["p50": p.p50, "p95": p.p95, "p99": p.p99]
        }
        return [
            "raw_eps": rawEPS.rounded(), "raw_spread_pct": passthroughSpreadPercent.rounded(),
            "kcat_eps": kcatEPS.map { $0.rounded() } ?? NSNull(),
            "pipeline_eps": pipelineEPS.rounded(),
            "ratio": (ratio * 1000).rounded() / 1000,
            "latency_ms": percentiles(latencyMs), "raw_latency_ms": percentiles(rawLatencyMs),
            "cpu_us_per_event": cpuMicrosPerEvent.sluice.rounded(),
            "broker_cpu_us_per_event": cpuMicrosPerEvent.broker.map { $0.rounded() } ?? NSNull(),
        ]
    }

    /// The table `sluice bench pipeline` prints; `rate` is the latency run's events per second.
    public func text(rate: Int) -> String {
        [
            String(
                format: "raw passthrough   %10.0f events/s (median of 5, runs within ±%.0f%%)", rawEPS,
                passthroughSpreadPercent)
                + (kcatEPS.map { String(format: "; kcat -C | kcat -P %.0f events/s (ratio %.2f)", $0, rawEPS / $0) }
                    ?? ""),
            String(format: "pipeline          %10.0f events/s   ratio %.3f", pipelineEPS, ratio),
            String(format: "  CPU per event   %10.0f µs sluice", cpuMicrosPerEvent.sluice)
                + (cpuMicrosPerEvent.broker.map { String(format: ", %.0f µs broker", $0) } ?? ""),
            "latency at \(rate)/s       p50        p95        p99",
            String(format: "  pipeline     %8.2f ms %8.2f ms %8.2f ms", latencyMs.p50, latencyMs.p95, latencyMs.p99),
            String(
                format: "  raw          %8.2f ms %8.2f ms %8.2f ms", rawLatencyMs.p50, rawLatencyMs.p95,
                rawLatencyMs.p99),
        ].joined(separator: "\n") + stagesText
    }

    /// Where the pipeline's latency goes, per stage.
    var stagesText: String {
        guard !stagesMs.isEmpty else { return "" }
        return "\n  stages            p50        p99\n"
            + stagesMs.map {
                "    " + $0.stage.padding(toLength: 22, withPad: " ", startingAt: 0)
                    + String(format: "%8.2f ms %8.2f ms", $0.percentiles.p50, $0.percentiles.p99)
            }.joined(separator: "\n")
    }
}

extension ReplayBenchmark.Report {
    /// `sluice bench replay --json`.
    public var jsonObject: [String: Any] {
        [
            "replay_rps": replayRPS.rounded(), "raw_rps": rawRPS.rounded(), "ratio": (ratio * 1000).rounded() / 1000,
            "records": records, "read_seconds": (readSeconds * 1000).rounded() / 1000,
        ]
    }

    public var text: String {
        [
            String(format: "raw produce   %10.0f records/s", rawRPS),
            String(format: "dlq replay    %10.0f records/s   ratio %.3f (target >= 0.5)", replayRPS, ratio),
            String(
                format:
                    "(reading the %d dead letters and the replay ledger took %.2f s, once per replay: in neither figure)",
                records, readSeconds),
        ].joined(separator: "\n")
    }
}

extension SandboxBenchmark.Report {
    /// `sluice bench sandbox --json`.
    public var jsonObject: [String: Any] {
        func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
        func object(_ p: SandboxBenchmark.Percentiles) -> [String: Any] {
            ["p50": rounded(p.p50), "p99": rounded(p.p99)]
        }
        return [
            "plain_ms": object(plain), "bwrap_ms": object(bwrap), "sluice_ms": object(sluice),
            "sluice_without_cgroup_ms": object(sluiceWithoutCgroup), "standby_ms": object(standby),
            "python_warm_start_ms": object(pythonWarmStart), "python_fast_start_ms": object(pythonFastStart),
            "python_heavy_start_ms": object(pythonHeavyStart),
            "python_heavy_fast_start_ms": object(pythonHeavyFastStart),
            "ratio": rounded(ratio), "standby_ratio": rounded(standbyRatio),
            "warm_batched_per_s": warmBatchedPerSecond.rounded(),
            "warm_single_per_s": warmSinglePerSecond.rounded(),
        ]
    }

    public var text: String {
        var lines = ["                              p50         p99"]
        for (label, p) in [
            ("plain fork+exec", plain), ("bwrap", bwrap), ("sluice sandbox", sluice),
            ("  the same, no cgroup", sluiceWithoutCgroup), ("  made ahead (standby)", standby),
            ("python3 no-op, first reply", pythonWarmStart), ("  from a standby", pythonFastStart),
            ("python3 heavier imports", pythonHeavyStart), ("  from a standby", pythonHeavyFastStart),
        ] {
            lines.append(
                label.padding(toLength: 26, withPad: " ", startingAt: 0)
                    + String(format: "%8.2f ms %8.2f ms", p.p50, p.p99))
        }
        lines.append(String(format: "ratio sluice/bwrap (p50)  %.2f   (target <= 1.0, goal <= 0.5)", ratio))
        lines.append(
            String(
                format: "ratio standby/bwrap       %.2f p50, %.2f p99   (targets <= 0.5, <= 1.0)", standbyRatio,
                bwrap.p99 > 0 ? standby.p99 / bwrap.p99 : 0))
        lines.append(
            String(
                format: "warm python3 no-op, 2 processes: %.0f invocations/s batched, %.0f one per frame (%.2fx)",
                warmBatchedPerSecond, warmSinglePerSecond, warmBatchedPerSecond / max(warmSinglePerSecond, 1)))
        return lines.joined(separator: "\n")
    }
}

extension ScalingBenchmark.Report {
    /// `sluice bench scaling --json`.
    public var jsonObject: [String: Any] {
        func rounded(_ value: Double) -> Double { (value * 100).rounded() / 100 }
        return [
            "events": events, "alone_eps": rounded(aloneRate), "scaled_eps": rounded(scaledRate),
            "ratio": rounded(ratio),
            "workers": workers, "onset_to_decision_s": rounded(onsetToDecisionSeconds),
            "onset_to_added_worker_result_s": rounded(onsetToAddedWorkerResultSeconds),
        ]
    }

    public var text: String {
        [
            String(format: "one worker alone            %8.0f events/s", aloneRate),
            String(format: "best 3 s with %d workers      %8.0f events/s   ratio %.2f", workers, scaledRate, ratio),
            String(
                format: "backlog onset → decision     %8.1f s (event timestamps have whole seconds)",
                onsetToDecisionSeconds),
            String(format: "backlog onset → first result of an added worker %.1f s", onsetToAddedWorkerResultSeconds),
        ].joined(separator: "\n")
    }
}

extension FunctionsBenchmark.Report {
    /// `sluice bench functions --json`.
    public var jsonObject: [String: Any] {
        func rounded(_ value: Double) -> Double { (value * 100).rounded() / 100 }
        return [
            "events": options.events, "functions": options.functions, "topics": options.topics,
            "alone_eps": aloneEPS.rounded(), "crowded_eps": crowdedEPS.rounded(), "ratio": rounded(ratio),
            "deploy_s": rounded(deploySeconds), "alone_ready_s": rounded(aloneReadySeconds),
            "crowded_ready_s": rounded(crowdedReadySeconds),
        ]
    }

    public var text: String {
        [
            String(format: "one function alone         %8.0f events/s", aloneEPS),
            String(
                format: "with %5d functions       %8.0f events/s   ratio %.2f (target >= 0.8)", options.functions,
                crowdedEPS, ratio),
            String(
                format: "worker start → first result  %.2f s alone, %.2f s with %d functions", aloneReadySeconds,
                crowdedReadySeconds, options.functions),
            String(format: "deploying %d functions      %.1f s", options.functions - 1, deploySeconds),
        ].joined(separator: "\n")
    }
}
