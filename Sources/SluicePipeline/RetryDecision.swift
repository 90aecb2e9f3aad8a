import SluiceFunctions
import SluiceRecords

/// What happens after an attempt: the pure rule of the retry policy (docs/architecture.md, "Failures").
public enum RetryDecision: Sendable, Equatable {
    case succeeded
    /// Another attempt after `delayMs`.
    case retry(delayMs: Int)
    case deadLetter(DeadLetter.Reason)

    /// - Parameters:
    ///   - errorClass: nil when the attempt succeeded.
    ///   - retryable: false when the function marked its error as not worth retrying.
    ///   - attempt: the attempt that just ended (1 for the first).
    ///   - ageMs: time since the record's origin (nil: unknown, no age limit applies).
    ///   - delayMs: the jittered delay the policy drew for the next attempt.
    public static func decide(
        errorClass: ErrorClass?, retryable: Bool, attempt: Int, policy: RetryPolicy, ageMs: Int64?, delayMs: Int
    ) -> RetryDecision {
        guard let errorClass else { return .succeeded }
        if errorClass == .rejected { return .deadLetter(.rejected) }
        if !retryable { return .deadLetter(.notRetryable) }
        if !policy.retryOn.contains(errorClass) { return .deadLetter(.classNotRetried) }
        if attempt >= policy.maxAttempts { return .deadLetter(.attemptsExhausted) }
        if let ageMs, ageMs >= Int64(policy.maxRecordAgeSeconds) * 1000 { return .deadLetter(.recordTooOld) }
        return .retry(delayMs: delayMs)
    }
}
