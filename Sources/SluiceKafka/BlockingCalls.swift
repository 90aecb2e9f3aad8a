import Dispatch
import Synchronization

/// Runs blocking librdkafka calls (flush, commit, committed, admin requests) off Swift's cooperative pool
/// and resumes the caller when they return.
///
/// Serial queues are used on purpose: libdispatch backs them with "overcommit" threads, created as
/// needed, while a concurrent queue is capped at one thread per core — there, a few blocking commits
/// would stall every other piece of work on the same pool.
enum BlockingCalls {
    private static let queues = (0..<16).map { DispatchQueue(label: "sluice.kafka.blocking-\($0)") }
    private static let next = Atomic<Int>(0)

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let queue = queues[next.add(1, ordering: .relaxed).newValue % queues.count]
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
