import Dispatch

/// Runs blocking librdkafka calls (flush, committed, admin requests) on threads that are not Swift's
/// cooperative pool, and resumes the caller when they return.
enum BlockingCalls {
    private static let queue = DispatchQueue(label: "sluice.kafka.blocking", attributes: .concurrent)

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
