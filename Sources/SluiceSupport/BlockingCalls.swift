import Foundation

/// Runs blocking calls (librdkafka's flush, commit, committed, close and admin requests) off Swift's
/// cooperative pool, each on a thread of its own, and resumes the caller when they return.
///
/// A thread per call on purpose: calls never queue behind each other. Shared serial queues did, and one
/// call that blocked long (a consumer close waiting on its group) held up every call routed to its queue
/// afterwards, whatever client it was for. A thread costs tens of microseconds; these calls are per
/// commit or per admin request, never per record.
public enum BlockingCalls {
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            start { continuation.resume(with: Result { try body() }) }
        }
    }

    /// `run` for a call that cannot throw.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            start { continuation.resume(returning: body()) }
        }
    }

    private static func start(_ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.name = "sluice-blocking"
        thread.start()
    }
}
