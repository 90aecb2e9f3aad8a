import Foundation
import SluiceSupport

/// When a baking canary (`sluice deploy --canary N`) is promoted or rolled back on its own (manifest
/// `deploy:`, platform defaults in `Config/platform.yaml` under `deploy.canary`). The canary's figures
/// are compared with the stable version's over a sliding window of the invocation log.
public struct CanaryPolicy: Sendable, Hashable, Codable {
    /// Healthy this long (and with `minInvocations`), the canary is promoted.
    public var bakeSeconds = 300.0
    /// Attempts of the canary seen before anything is decided.
    public var minInvocations = 50
    /// Rolled back when the canary's error rate exceeds the stable version's by more than this (0…1).
    public var maxErrorRateIncrease = 0.05
    /// Rolled back when the canary's p99 (warm invocations) exceeds the stable version's times this…
    public var maxP99Ratio = 2.0
    /// …and by more than this many ms (a 2 ms function at 5 ms is not a regression worth a rollback).
    public var p99SlackMs = 50.0
    /// The sliding window of invocations compared.
    public var windowSeconds = 300.0

    public init() {}

    public static let standard = CanaryPolicy()

    static let keys: Set<String> = [
        "bake_seconds", "min_invocations", "max_error_rate_increase", "max_p99_ratio", "p99_slack_ms",
        "window_seconds",
    ]
    static let bakeSecondsRange = 1.0...604_800.0
    static let minInvocationsRange = 1...1_000_000
    static let errorRateRange = 0.0...1.0
    static let p99RatioRange = 1.0...1000.0
    static let slackRange = 0.0...3_600_000.0
    static let windowRange = 1.0...86_400.0

    /// This policy with the fields present in a `deploy:` mapping replaced.
    /// - Throws: `ConfigurationError` naming file, line and field.
    public func applying(_ value: YAMLValue) throws -> CanaryPolicy {
        let fields = try value.mapping(allowed: Self.keys)
        var policy = self
        policy.bakeSeconds = try fields["bake_seconds"]?.double(in: Self.bakeSecondsRange) ?? bakeSeconds
        policy.minInvocations = try fields["min_invocations"]?.int(in: Self.minInvocationsRange) ?? minInvocations
        policy.maxErrorRateIncrease =
            try fields["max_error_rate_increase"]?.double(in: Self.errorRateRange) ?? maxErrorRateIncrease
        policy.maxP99Ratio = try fields["max_p99_ratio"]?.double(in: Self.p99RatioRange) ?? maxP99Ratio
        policy.p99SlackMs = try fields["p99_slack_ms"]?.double(in: Self.slackRange) ?? p99SlackMs
        policy.windowSeconds = try fields["window_seconds"]?.double(in: Self.windowRange) ?? windowSeconds
        return policy
    }

    /// Why a policy read from the registry topic (anyone can write it) is refused, or nil.
    public var problem: String? {
        let checks: [(String, Bool)] = [
            ("deploy.bake_seconds", Self.bakeSecondsRange.contains(bakeSeconds)),
            ("deploy.min_invocations", Self.minInvocationsRange.contains(minInvocations)),
            ("deploy.max_error_rate_increase", Self.errorRateRange.contains(maxErrorRateIncrease)),
            ("deploy.max_p99_ratio", Self.p99RatioRange.contains(maxP99Ratio)),
            ("deploy.p99_slack_ms", Self.slackRange.contains(p99SlackMs)),
            ("deploy.window_seconds", Self.windowRange.contains(windowSeconds)),
        ]
        return checks.first { !$0.1 }.map { "\($0.0) is out of range" }
    }

    enum CodingKeys: String, CodingKey {
        case bakeSeconds = "bake_seconds"
        case minInvocations = "min_invocations"
        case maxErrorRateIncrease = "max_error_rate_increase"
        case maxP99Ratio = "max_p99_ratio"
        case p99SlackMs = "p99_slack_ms"
        case windowSeconds = "window_seconds"
    }
}
