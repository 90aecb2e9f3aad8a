import Foundation
import Logging
import SluiceAutoscaler
import SluiceKafka
import SluiceRecords
import SluiceScaling
import SluiceSupport

/// `sluice bench prewarm`: a recorded pattern of periodic bursts — nothing, then `burstRate` events per
/// second of a 20 ms python3 function for `burstSeconds`, every `periodSeconds` (a day compressed into
/// seconds) — played twice through a supervisor and one worker: with predictive pre-warming off, then on
/// (a new function each time, so the second learns from nothing). The first `learnPeriods` periods are
/// not measured. Reported per play: the share of burst invocations that waited for a new process (cold
/// starts), their p99 latency (enqueued to ended), and the function's warm-process-seconds over the
/// measured periods (from the worker's load samples).
public struct PrewarmBenchmark: Sendable {
    public struct Play: Sendable {
        public var invocations: Int
        public var coldStarts: Int
        public var p99Ms: Double
        public var warmProcessSeconds: Double
        /// The supervisor's decisions for the function in the measured span: ahead of predicted demand, and all.
        public var predictedDecisions: Int
        public var decisions: Int
        public var coldStartRate: Double { invocations > 0 ? Double(coldStarts) / Double(invocations) : 0 }
    }

    public struct Report: Sendable {
        public var off: Play
        public var on: Play
        public var periods: Int
        /// 1 − on/off of the cold-start rates (target ≥ 0.8).
        public var coldStartReduction: Double { off.coldStartRate > 0 ? 1 - on.coldStartRate / off.coldStartRate : 0 }
        /// on/off of the warm-process-seconds (target ≤ 1.2).
        public var warmRatio: Double { off.warmProcessSeconds > 0 ? on.warmProcessSeconds / off.warmProcessSeconds : 0 }
    }

    let connection: KafkaConnection
    let executable: String
    let periodSeconds = 12.0
    let burstSeconds = 2
    let burstRate = 150
    let learnPeriods = 2
    let measuredPeriods: Int
    let logger = Logger(label: "sluice.bench")

    public init(connection: KafkaConnection, executable: String, measuredPeriods: Int = 4) {
        self.connection = connection
        self.executable = executable
        self.measuredPeriods = max(1, measuredPeriods)
    }

    public func run(progress: @Sendable (String) -> Void) async throws -> Report {
        progress("prediction off: \(learnPeriods + measuredPeriods) periods of \(Int(periodSeconds)) s…")
        let off = try await play(prediction: false, progress: progress)
        progress("prediction on: the same pattern, learned from nothing…")
        let on = try await play(prediction: true, progress: progress)
        return Report(off: off, on: on, periods: measuredPeriods)
    }

    private func play(prediction: Bool, progress: @Sendable (String) -> Void) async throws -> Play {
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let (topics, created) = try await BenchmarkSupervision.makeTopics(
            prefix: "bench.\(tag)", partitions: 3, connection: connection)
        defer {
            Task { [connection] in await BenchmarkSupervision.deleteTopics(created, connection: connection) }
        }
        let name = "bench-prewarm-\(tag)"
        _ = try await BenchmarkFunction.deploy(
            name: name, handler: "import time\ndef main(event, context):\n    time.sleep(0.02)\n    return event\n",
            connection: connection
        ) { $0.maxConcurrency = 16 }
        let group = "bench-prewarm-\(tag)"
        let supervisor = Supervisor(
            configuration: configuration(topics: topics, group: group, prediction: prediction), logger: logger)
        let running = Task { try await supervisor.run() }
        let reader = try await ResultReader.start(connection: connection, function: name)
        do {
            _ = try await publish(name, count: 1, topic: topics.invocations)
            _ = try await reader.collectValues(1, timeout: .seconds(120))
            // Bursts start on period boundaries of the epoch clock: the forecast's phases are too.
            let now = Date().timeIntervalSince1970
            let first = (now / periodSeconds).rounded(.up) * periodSeconds + periodSeconds
            var measuredFrom = Date()
            let periods = learnPeriods + measuredPeriods
            for period in 0..<periods {
                let start = first + Double(period) * periodSeconds
                try await Task.sleep(for: .seconds(max(0, start - Date().timeIntervalSince1970)))
                if period == learnPeriods { measuredFrom = Date() }
                for _ in 0..<(burstSeconds * 10) {
                    let tick = Date()
                    _ = try await publish(name, count: burstRate / 10, topic: topics.invocations)
                    try await Task.sleep(for: .seconds(max(0, 0.1 - Date().timeIntervalSince(tick))))
                }
                progress("  period \(period + 1) of \(periods)\(period < learnPeriods ? " (learning)" : "")")
            }
            try await Task.sleep(
                for: .seconds(max(0, first + Double(periods) * periodSeconds - Date().timeIntervalSince1970)))
            let measuredTo = Date()
            let total = periods * burstSeconds * 10 * (burstRate / 10)
            let values = try await reader.collectValues(total, timeout: .seconds(120))
            running.cancel()
            _ = try? await running.value
            await reader.close()
            return try await measure(values, function: name, group: group, from: measuredFrom, to: measuredTo)
        } catch {
            running.cancel()
            _ = try? await running.value
            await reader.close()
            throw error
        }
    }

    private func configuration(topics: PlatformTopics, group: String, prediction: Bool) -> Supervisor.Configuration {
        var configuration = BenchmarkSupervision.configuration(
            connection: connection, executable: executable, topics: topics, group: group)
        configuration.policy.minWorkers = 1
        configuration.policy.maxWorkers = 1
        // The day compressed: windows in seconds.
        configuration.functionPolicy.scaleDownWindowSeconds = 3
        configuration.functionPolicy.cooldownSeconds = 2
        configuration.functionPolicy.idleSecondsBeforeZero = 4
        if prediction {
            var settings = DemandForecast.Settings()
            settings.bucketSeconds = 1
            settings.periodSeconds = periodSeconds
            settings.leadBuckets = 2
            configuration.prediction = settings
        }
        return configuration
    }

    private func publish(_ function: String, count: Int, topic: String) async throws -> Int {
        try await BenchmarkSupervision.publishRequests(function, count: count, topic: topic, connection: connection)
    }

    /// Cold starts and p99 of the results that finished in [from, to], and the function's warm-process-
    /// seconds in its worker's load samples of that span.
    private func measure(_ values: [[UInt8]], function: String, group: String, from: Date, to: Date) async throws
        -> Play
    {
        var latencies: [Double] = []
        var cold = 0
        for value in values {
            guard let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any],
                let finished = (object["finished_at"] as? String).flatMap(Timestamp.parse), finished >= from,
                finished <= to, let stages = object["stages"] as? [String: Any],
                let enqueued = stages["enqueued_ms"] as? Double, let ended = stages["ended_ms"] as? Double
            else { continue }
            latencies.append(ended - enqueued)
            if object["cold_start"] as? Bool == true { cold += 1 }
        }
        let samples = try await TopicSnapshot.read(PlatformTopics.standard.scaling, connection: connection)
        var warmSeconds = 0.0
        var predicted = 0
        var decisions = 0
        for record in samples where record.keyText == function {
            guard let value = record.value, let event = try? JSONDecoder().decode(ScalingEvent.self, from: Data(value)),
                let at = Timestamp.parse(event.timestamp), at >= from, at <= to
            else { continue }
            decisions += 1
            if event.reason == "predicted_demand" { predicted += 1 }
        }
        for record in samples {
            guard let value = record.value, let sample = try? JSONDecoder().decode(LoadSample.self, from: Data(value)),
                sample.group == group, let at = Timestamp.parse(sample.timestamp), at >= from, at <= to
            else { continue }
            warmSeconds += Double(sample.functions[function]?.warmProcesses ?? 0) * sample.intervalSeconds
        }
        latencies.sort()
        let p99 = latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * 0.99))]
        return Play(
            invocations: latencies.count, coldStarts: cold, p99Ms: p99, warmProcessSeconds: warmSeconds,
            predictedDecisions: predicted, decisions: decisions)
    }
}

extension PrewarmBenchmark.Report {
    /// `sluice bench prewarm --json`.
    public var jsonObject: [String: Any] {
        func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
        func object(_ play: PrewarmBenchmark.Play) -> [String: Any] {
            [
                "invocations": play.invocations, "cold_starts": play.coldStarts,
                "cold_start_rate": rounded(play.coldStartRate), "p99_ms": rounded(play.p99Ms),
                "warm_process_seconds": rounded(play.warmProcessSeconds),
                "decisions": play.decisions, "predicted_decisions": play.predictedDecisions,
            ]
        }
        return [
            "off": object(off), "on": object(on), "cold_start_reduction": rounded(coldStartReduction),
            "warm_ratio": rounded(warmRatio),
        ]
    }

    public var text: String {
        var lines = ["prediction  invocations  cold starts  rate     p99 ms   warm-process-s  decisions (predicted)"]
        for (label, play) in [("off", off), ("on", on)] {
            lines.append(
                label.padding(toLength: 12, withPad: " ", startingAt: 0)
                    + String(
                        format: "%11d  %11d  %5.1f%%  %7.1f  %14.1f  %9d (%d)", play.invocations, play.coldStarts,
                        play.coldStartRate * 100, play.p99Ms, play.warmProcessSeconds, play.decisions,
                        play.predictedDecisions))
        }
        lines.append(
            String(
                format: "cold starts reduced by %.0f%% (target >= 80%%), warm-process-seconds %.2fx (target <= 1.2x)",
                coldStartReduction * 100, warmRatio))
        return lines.joined(separator: "\n")
    }

    public var figures: [BenchmarkFigure] {
        [
            BenchmarkFigure(
                "prewarm.cold_start_rate_pct", on.coldStartRate * 100, "%", .lowerIsBetter,
                baseline: off.coldStartRate * 100),
            BenchmarkFigure("prewarm.p99_ms", on.p99Ms, "ms", .lowerIsBetter, baseline: off.p99Ms),
            BenchmarkFigure(
                "prewarm.warm_process_seconds", on.warmProcessSeconds, "s", .lowerIsBetter,
                baseline: off.warmProcessSeconds),
        ]
    }
}
