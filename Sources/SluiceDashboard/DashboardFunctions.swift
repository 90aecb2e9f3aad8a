import Foundation
import SluiceRecords

extension DashboardState {
    /// `/api/functions`: per function, over the last `functionWindow` seconds: invocations/s, error rate,
    /// duration p50/p95/p99, cold-start rate, and the same per version that ran (a canary against its
    /// stable version); totals; warm processes; dead letters and their growth; the deploy (`state`
    /// `baking` with its split, or `stable`) from its latest deploy event.
    func functionObjects() -> [[String: Any]] {
        let now = Date().timeIntervalSince1970
        var warm: [String: Int] = [:]
        for sample in workerSamples {
            for (function, count) in sample.warmProcesses { warm[function, default: 0] += count }
        }
        return functions.values.sorted { $0.name < $1.name }.map { figures in
            let recent = figures.recent.filter { now - $0.time <= options.functionWindow }
            let durations = recent.map(\.durationMs).sorted()
            func percentile(_ p: Double) -> Double {
                durations.isEmpty
                    ? 0 : (durations[min(durations.count - 1, Int(Double(durations.count) * p))] * 10).rounded() / 10
            }
            let failed = recent.filter(\.failed).count
            let cold = recent.filter(\.cold).count
            return [
                "function": figures.name, "invocations_total": figures.invocationsTotal,
                "errors_total": figures.errorsTotal,
                "invocations_per_s": (Double(recent.count) / options.functionWindow * 100).rounded() / 100,
                "error_rate": recent.isEmpty ? 0 : (Double(failed) / Double(recent.count) * 1000).rounded() / 1000,
                "duration_ms": ["p50": percentile(0.5), "p95": percentile(0.95), "p99": percentile(0.99)],
                "cold_start_rate": recent.isEmpty ? 0 : (Double(cold) / Double(recent.count) * 1000).rounded() / 1000,
                "warm_processes": warm[figures.name] ?? 0, "dlq_depth": deadLetters.depth(figures.name),
                "dlq_growth_per_min": deadLetters.growthPerMinute(
                    figures.name, window: options.functionWindow, now: now),
                "replay_command": "sluice dlq replay --function \(figures.name)",
                "versions": Self.versionObjects(recent), "deploy": deployObject(figures.name),
            ]
        }
    }

    /// Per version in `recent` (newest version first): attempts, error rate, warm p99.
    static func versionObjects(_ recent: [(time: Double, durationMs: Double, cold: Bool, failed: Bool, version: Int)])
        -> [[String: Any]]
    {
        Dictionary(grouping: recent, by: \.version).sorted { $0.key > $1.key }.map { version, attempts in
            let warm = attempts.filter { !$0.cold }.map(\.durationMs).sorted()
            let p99 = warm.isEmpty ? 0 : warm[min(warm.count - 1, Int(Double(warm.count) * 0.99))]
            return [
                "version": version, "invocations": attempts.count,
                "error_rate": (Double(attempts.count(where: \.failed)) / Double(attempts.count) * 1000).rounded()
                    / 1000,
                "p99_ms": (p99 * 10).rounded() / 10,
            ]
        }
    }

    /// `{state, stable_version, canary_version, canary_percent}` from the latest deploy event, or nil.
    func deployObject(_ function: String) -> Any {
        let live = { (event: [String: Any]) in
            (event["event_type"] as? String).flatMap(DeployEvent.Kind.init(rawValue:))?.changesLive == true
        }
        guard let event = deployments.latest(function, where: live), let type = event["event_type"] as? String,
            let to = event["to_version"] as? Int
        else { return NSNull() }
        if type == DeployEvent.Kind.canaryStarted.rawValue {
            return [
                "state": "baking", "stable_version": event["from_version"] ?? NSNull(), "canary_version": to,
                "canary_percent": event["canary_percent"] ?? NSNull(),
            ] as [String: Any]
        }
        return ["state": "stable", "stable_version": to, "last_event": type] as [String: Any]
    }
}
