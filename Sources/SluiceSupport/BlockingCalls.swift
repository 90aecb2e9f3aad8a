import Dispatch
import Synchronization

/// Runs short blocking calls (librdkafka's flush, commit, committed and admin requests) off Swift's
/// cooperative pool and resumes the caller when they return. Calls that block for long (a pipe read to its
/// end, waiting for a process) take a `DedicatedThread` instead.
///
/// Serial queues are used on purpose: libdispatch backs them with "overcommit" threads, created as
/// needed, while a concurrent queue is capped at one thread per core — there, a few blocking commits
/// would stall every other piece of work on the same pool.
public enum BlockingCalls {
    private static let queues = (0..<16).map { DispatchQueue(label: "sluice.kafka.blocking-\($0)") }
    private static let next = Atomic<Int>(0)

    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let queue = queues[next.add(1, ordering: .relaxed).newValue % queues.count]
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// `run` for a call that cannot throw.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        let queue = queues[next.add(1, ordering: .relaxed).newValue % queues.count]
        return await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: body()) }
        }
    }
}
