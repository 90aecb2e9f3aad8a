import Foundation

/// One figure a benchmark measured, with the baseline measured in the same run where there is one.
public struct BenchmarkFigure: Sendable, Hashable, Codable {
    /// Whether a larger value is better (throughput) or worse (latency, start time).
    public enum Direction: String, Sendable, Codable {
        case higherIsBetter = "higher"
        case lowerIsBetter = "lower"
    }

    /// `benchmark.figure`, e.g. `pipeline.events_per_s`.
    public var name: String
    public var value: Double
    public var unit: String
    public var direction: Direction
    /// The same figure of the baseline in this run (raw Kafka, bubblewrap, one worker), if any.
    public var baseline: Double?

    public init(_ name: String, _ value: Double, _ unit: String, _ direction: Direction, baseline: Double? = nil) {
        self.name = name
        self.value = value
        self.unit = unit
        self.direction = direction
        self.baseline = baseline
    }

    /// value / baseline.
    public var ratio: Double? { baseline.flatMap { $0 != 0 ? value / $0 : nil } }

    /// How much better (> 0) or worse (< 0) `self` is than `before`, as a fraction of `before`.
    public func change(from before: BenchmarkFigure) -> Double? {
        guard before.value != 0 else { return nil }
        let relative = (value - before.value) / before.value
        return direction == .higherIsBetter ? relative : -relative
    }
}

extension PipelineBenchmark.Report {
    public var figures: [BenchmarkFigure] {
        [
            BenchmarkFigure("pipeline.events_per_s", pipelineEPS, "events/s", .higherIsBetter, baseline: rawEPS),
            BenchmarkFigure(
                "pipeline.passthrough_events_per_s", rawEPS, "events/s", .higherIsBetter, baseline: kcatEPS),
            BenchmarkFigure("pipeline.passthrough_spread_pct", passthroughSpreadPercent, "%", .lowerIsBetter),
            BenchmarkFigure("pipeline.latency_p50_ms", latencyMs.p50, "ms", .lowerIsBetter, baseline: rawLatencyMs.p50),
            BenchmarkFigure("pipeline.latency_p99_ms", latencyMs.p99, "ms", .lowerIsBetter, baseline: rawLatencyMs.p99),
            BenchmarkFigure("pipeline.cpu_us_per_event", cpuMicrosPerEvent.sluice, "µs", .lowerIsBetter),
        ]
            + (cpuMicrosPerEvent.broker.map {
                [BenchmarkFigure("pipeline.broker_cpu_us_per_event", $0, "µs", .lowerIsBetter)]
            } ?? [])
    }
}

extension ReplayBenchmark.Report {
    public var figures: [BenchmarkFigure] {
        [BenchmarkFigure("replay.records_per_s", replayRPS, "records/s", .higherIsBetter, baseline: rawRPS)]
    }
}

extension SandboxBenchmark.Report {
    public var figures: [BenchmarkFigure] {
        [
            BenchmarkFigure("sandbox.start_p50_ms", sluice.p50, "ms", .lowerIsBetter, baseline: bwrap.p50),
            BenchmarkFigure("sandbox.start_p99_ms", sluice.p99, "ms", .lowerIsBetter, baseline: bwrap.p99),
            BenchmarkFigure("sandbox.python_first_reply_p50_ms", pythonWarmStart.p50, "ms", .lowerIsBetter),
            BenchmarkFigure("sandbox.python_first_reply_p99_ms", pythonWarmStart.p99, "ms", .lowerIsBetter),
            BenchmarkFigure("sandbox.standby_start_p50_ms", standby.p50, "ms", .lowerIsBetter, baseline: bwrap.p50),
            BenchmarkFigure("sandbox.standby_start_p99_ms", standby.p99, "ms", .lowerIsBetter, baseline: bwrap.p99),
            BenchmarkFigure(
                "sandbox.python_fast_first_reply_p50_ms", pythonFastStart.p50, "ms", .lowerIsBetter,
                baseline: pythonWarmStart.p50),
            BenchmarkFigure(
                "sandbox.python_fast_first_reply_p99_ms", pythonFastStart.p99, "ms", .lowerIsBetter,
                baseline: pythonWarmStart.p99),
            BenchmarkFigure(
                "sandbox.python_heavy_fast_first_reply_p50_ms", pythonHeavyFastStart.p50, "ms", .lowerIsBetter,
                baseline: pythonHeavyStart.p50),
            BenchmarkFigure(
                "sandbox.warm_invocations_per_s", warmBatchedPerSecond, "inv/s", .higherIsBetter,
                baseline: warmSinglePerSecond),
        ]
    }
}

extension ScalingBenchmark.Report {
    public var figures: [BenchmarkFigure] {
        [
            BenchmarkFigure(
                "scaling.scaled_events_per_s", scaledRate, "events/s", .higherIsBetter, baseline: aloneRate),
            BenchmarkFigure(
                "scaling.onset_to_added_worker_result_s", onsetToAddedWorkerResultSeconds, "s", .lowerIsBetter),
        ]
    }
}

extension FunctionsBenchmark.Report {
    public var figures: [BenchmarkFigure] {
        [
            BenchmarkFigure(
                "functions.crowded_events_per_s", crowdedEPS, "events/s", .higherIsBetter, baseline: aloneEPS),
            BenchmarkFigure(
                "functions.worker_ready_s", crowdedReadySeconds, "s", .lowerIsBetter, baseline: aloneReadySeconds),
        ]
    }
}
