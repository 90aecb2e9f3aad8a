/// Header names Sluice sets on invocation requests, results and logs (docs/architecture.md).
public enum SluiceHeader {
    public static let invocationID = "sluice-invocation-id"
    public static let function = "sluice-function"
    /// The alias of the function an invocation runs (absent: `live`, the registry record's version).
    public static let alias = "sluice-alias"
    public static let attempt = "sluice-attempt"
    /// `kafka` (from a trigger topic via the router) or `invoke` (`sluice invoke`).
    public static let trigger = "sluice-trigger"
    public static let triggerTopic = "sluice-trigger-topic"
    public static let triggerPartition = "sluice-trigger-partition"
    public static let triggerOffset = "sluice-trigger-offset"
    public static let enqueuedAt = "sluice-enqueued-at"
    /// Timestamp (ms since the epoch) of the trigger record, set by the router.
    public static let triggerTimestamp = "sluice-trigger-timestamp"
    /// Where the record that started it all was: the trigger record, or the first invocation request.
    public static let originTopic = "sluice-origin-topic"
    public static let originPartition = "sluice-origin-partition"
    public static let originOffset = "sluice-origin-offset"
    /// Milliseconds since the epoch.
    public static let originTimestamp = "sluice-origin-timestamp"
    /// On retry records: when the next attempt is due (ms since the epoch).
    public static let retryDue = "sluice-retry-due"
    /// On retry records and non-final results: the invocations partition whose later records of the same
    /// key (or partition, by the function's `ordering`) wait for this retry chain to end. On results with
    /// the topic and the key (`KeyHold`), so a worker taking that partition over holds them again.
    public static let heldPartition = "sluice-held-partition"
    public static let heldTopic = "sluice-held-topic"
    public static let heldKey = "sluice-held-key"
    /// RFC 3339 times of the first and the latest failed attempt.
    public static let firstFailure = "sluice-first-failure"
    public static let lastFailure = "sluice-last-failure"
    public static let errorClass = "sluice-error-class"
    /// The latest error message (bounded).
    public static let error = "sluice-error"
    /// On a replayed request: the dead letter it replays, `topic/partition@offset`.
    public static let replayOf = "sluice-replay-of"
    /// On results: the status, and whether it is the invocation's last word (`true`) or a retry follows.
    public static let status = "sluice-status"
    public static let final = "sluice-final"
}
