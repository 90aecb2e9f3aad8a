import Foundation
import SluiceRecords
import SluiceSupport

/// How failed invocations are retried (manifest `retry:`, platform defaults in `Config/platform.yaml`).
public struct RetryPolicy: Sendable, Hashable, Codable {
    public enum Backoff: String, Sendable, Codable, CaseIterable { case exponential, linear, fixed }
    /// `full`: a uniform delay in [0, backoff]; `equal`: [backoff/2, backoff]; `none`: exactly the backoff.
    public enum Jitter: String, Sendable, Codable, CaseIterable { case full, equal, none }

    /// Attempts in all, the first included.
    public var maxAttempts = 4
    public var backoff = Backoff.exponential
    public var initialMs = 200
    public var multiplier = 2.0
    public var maxMs = 60_000
    public var jitter = Jitter.full
    public var retryOn: Set<ErrorClass> = [.timeout, .crash, .error]
    /// A record older than this (since its origin) is dead-lettered instead of retried.
    public var maxRecordAgeSeconds = 3600

    public init() {}

    /// The platform's built-in defaults (what `Config/platform.yaml` starts from).
    public static let standard = RetryPolicy()

    /// The backoff before attempt `attempt + 1`, after attempt `attempt` failed, before jitter.
    public func backoffMs(afterAttempt attempt: Int) -> Int {
        let steps = max(0, attempt - 1)
        let raw: Double
        switch backoff {
        case .fixed: raw = Double(initialMs)
        case .linear: raw = Double(initialMs) * Double(steps + 1)
        case .exponential: raw = Double(initialMs) * pow(multiplier, Double(steps))
        }
        return Int(min(Double(maxMs), raw))
    }

    /// The delay actually waited before the next attempt: the backoff with jitter applied.
    public func delayMs<G: RandomNumberGenerator>(afterAttempt attempt: Int, using generator: inout G) -> Int {
        let base = backoffMs(afterAttempt: attempt)
        switch jitter {
        case .none: return base
        case .full: return base == 0 ? 0 : Int.random(in: 0...base, using: &generator)
        case .equal: return base / 2 + (base == 0 ? 0 : Int.random(in: 0...(base - base / 2), using: &generator))
        }
    }

    public func delayMs(afterAttempt attempt: Int) -> Int {
        var generator = SystemRandomNumberGenerator()
        return delayMs(afterAttempt: attempt, using: &generator)
    }

    /// The longest a record can spend between its first attempt and its last: how long a key may wait
    /// for a record of it in retry.
    public var worstCaseSpanMs: Int {
        (1..<max(1, maxAttempts)).reduce(0) { $0 + backoffMs(afterAttempt: $1) }
    }

    /// How long the rest of a chain of attempts can take after attempt `attempt` failed: the worst-case
    /// backoff, every remaining attempt running to its timeout, and a minute of slack. Later records of
    /// the key wait at most this long for the chain to end.
    public func chainBound(afterAttempt attempt: Int, timeoutSeconds: Double) -> Duration {
        let attemptsLeft = Double(max(0, maxAttempts - attempt))
        return .milliseconds(worstCaseSpanMs) + .seconds(attemptsLeft * timeoutSeconds + 60)
    }

    /// The longest backoff a policy may ask for (`max_ms`): one day.
    public static let longestBackoffMs = 86_400_000

    static let keys: Set<String> = [
        "max_attempts", "backoff", "initial_ms", "multiplier", "max_ms", "jitter", "retry_on", "max_record_age_s",
    ]

    /// This policy with the fields present in a `retry:` mapping replaced.
    /// - Throws: `ConfigurationError` naming file, line and field.
    public func applying(_ value: YAMLValue) throws -> RetryPolicy {
        let fields = try value.mapping(allowed: Self.keys)
        var policy = self
        policy.maxAttempts = try fields["max_attempts"]?.int(in: FunctionBounds.maxAttempts) ?? maxAttempts
        policy.backoff = try fields["backoff"]?.choice(Backoff.self) ?? backoff
        policy.initialMs = try fields["initial_ms"]?.int(in: FunctionBounds.initialMs) ?? initialMs
        policy.multiplier = try fields["multiplier"]?.double(in: FunctionBounds.multiplier) ?? multiplier
        policy.maxMs = try fields["max_ms"]?.int(in: FunctionBounds.maxMs) ?? maxMs
        policy.jitter = try fields["jitter"]?.choice(Jitter.self) ?? jitter
        if let retryOn = fields["retry_on"] {
            policy.retryOn = Set(try retryOn.list().map { try $0.choice(ErrorClass.self) })
            if policy.retryOn.contains(.rejected) {
                throw retryOn.error("'rejected' records are bad input and are never retried")
            }
        }
        policy.maxRecordAgeSeconds =
            try fields["max_record_age_s"]?.int(in: FunctionBounds.maxRecordAgeSeconds) ?? maxRecordAgeSeconds
        if policy.maxMs < policy.initialMs {
            throw (fields["max_ms"] ?? value).error(
                "max_ms (\(policy.maxMs)) is below initial_ms (\(policy.initialMs))")
        }
        return policy
    }

    enum CodingKeys: String, CodingKey {
        case maxAttempts = "max_attempts"
        case backoff
        case initialMs = "initial_ms"
        case multiplier
        case maxMs = "max_ms"
        case jitter
        case retryOn = "retry_on"
        case maxRecordAgeSeconds = "max_record_age_s"
    }
}
