import Foundation
import SluiceFunctions
import SluiceKafka
import SluiceRecords

/// The attempts of one baking canary and of the stable version beside it, from the invocation log since
/// the canary started, over the policy's sliding window; and what they say: wait, promote or roll back.
public struct CanaryWindow: Sendable {
    public let stableVersion: Int
    public let canaryVersion: Int
    public let policy: CanaryPolicy
    /// When the canary started (seconds since the epoch): attempts before are not its figures.
    public let startedAt: Double

    public enum Verdict: Sendable, Equatable {
        case wait
        case promote(String)
        case rollBack(String)
    }

    struct Sample: Sendable {
        var time: Double
        var failed: Bool
        var durationMs: Double
        var cold: Bool
    }

    /// Per version, in the order noted; at most `maxSamples` each (the oldest go first).
    private var samples: [Int: [Sample]] = [:]
    static let maxSamples = 200_000

    public init(stableVersion: Int, canaryVersion: Int, policy: CanaryPolicy, startedAt: Double) {
        self.stableVersion = stableVersion
        self.canaryVersion = canaryVersion
        self.policy = policy
        self.startedAt = startedAt
    }

    /// Counts one attempt of `version` that ended at `time`; attempts of other versions, before the canary
    /// started, or with a duration that is no number of ms are not counted.
    public mutating func note(version: Int, time: Double, failed: Bool, durationMs: Double, cold: Bool) {
        guard version == stableVersion || version == canaryVersion, time >= startedAt, durationMs.isFinite,
            durationMs >= 0
        else { return }
        samples[version, default: []].append(Sample(time: time, failed: failed, durationMs: durationMs, cold: cold))
        if samples[version]!.count > Self.maxSamples { samples[version]!.removeFirst(Self.maxSamples / 2) }
    }

    /// `version`'s attempts in the window ending at `now`: how many, how many failed, the p99 of the warm
    /// ones' durations.
    public func figures(_ version: Int, now: Double) -> DeployEvent.Figures {
        let recent = (samples[version] ?? []).filter { now - $0.time <= policy.windowSeconds }
        let warm = recent.filter { !$0.cold }.map(\.durationMs).sorted()
        let p99 = warm.isEmpty ? nil : warm[max(0, Int((0.99 * Double(warm.count)).rounded(.up)) - 1)]
        return DeployEvent.Figures(
            version: version, invocations: recent.count, errors: recent.count(where: { $0.failed }), p99Ms: p99)
    }

    /// What the figures at `now` say. Nothing is decided before the canary has `min_invocations`
    /// attempts in the window; then it is rolled back when its error rate exceeds the stable version's by
    /// more than `max_error_rate_increase`, or its warm p99 exceeds the stable version's times
    /// `max_p99_ratio` and by more than `p99_slack_ms`; otherwise promoted once it has baked
    /// `bake_seconds`.
    public func verdict(now: Double) -> (verdict: Verdict, canary: DeployEvent.Figures, stable: DeployEvent.Figures) {
        let canary = figures(canaryVersion, now: now)
        let stable = figures(stableVersion, now: now)
        guard canary.invocations >= policy.minInvocations else { return (.wait, canary, stable) }
        func percent(_ rate: Double) -> String { String(format: "%.1f %%", rate * 100) }
        if canary.errorRate > stable.errorRate + policy.maxErrorRateIncrease {
            let reason =
                "error rate \(percent(canary.errorRate)) (\(canary.errors) of \(canary.invocations)) against \(percent(stable.errorRate)) of version \(stableVersion); at most \(percent(policy.maxErrorRateIncrease)) more is allowed"
            return (.rollBack(reason), canary, stable)
        }
        if let canaryP99 = canary.p99Ms, let stableP99 = stable.p99Ms, canaryP99 > stableP99 * policy.maxP99Ratio,
            canaryP99 - stableP99 > policy.p99SlackMs
        {
            let reason = String(
                format: "p99 %.1f ms against %.1f ms of version %d; at most %.2f× (and %.0f ms more) is allowed",
                canaryP99, stableP99, stableVersion, policy.maxP99Ratio, policy.p99SlackMs)
            return (.rollBack(reason), canary, stable)
        }
        if now - startedAt >= policy.bakeSeconds {
            let reason =
                "healthy for \(Int(now - startedAt)) s: error rate \(percent(canary.errorRate)) against \(percent(stable.errorRate)) over \(canary.invocations) attempts"
            return (.promote(reason), canary, stable)
        }
        return (.wait, canary, stable)
    }
}

/// One attempt as the invocation log tells it (nil for a record that is not one: over 64 KiB, not JSON,
/// fields missing or of the wrong type).
struct LoggedAttempt {
    var function: String
    var version: Int
    var time: Double
    var failed: Bool
    var durationMs: Double
    var cold: Bool

    init?(_ record: ConsumerRecord) {
        guard let value = record.value, value.count <= CanaryJudge.maxLogRecordBytes,
            let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any],
            let function = object["function"] as? String, let version = object["version"] as? Int,
            let status = object["status"] as? String, let duration = object["duration_ms"] as? Double
        else { return nil }
        self.function = function
        self.version = version
        self.time = Double(record.timestampMs) / 1000
        self.failed = status != "success"
        self.durationMs = duration
        self.cold = object["cold_start"] as? Bool ?? false
    }

    func note(in window: inout CanaryWindow) {
        window.note(version: version, time: time, failed: failed, durationMs: durationMs, cold: cold)
    }
}
