/// Why an invocation failed. Every failed invocation has exactly one class; the retry policy and the
/// dead-letter topic speak in these.
public enum ErrorClass: String, Sendable, Codable, CaseIterable, Hashable {
    /// It ran past `timeout_seconds` and was killed.
    case timeout
    /// The process exited non-zero, died of a signal or broke the runtime protocol.
    case crash
    /// It went over `memory_mb`.
    case oom
    /// The function raised or returned an error.
    case error
    /// Bad input: over the size limit, unknown function, not a readable invocation request.
    case rejected
    /// The sandbox stopped it (a policy violation).
    case sandbox
}
