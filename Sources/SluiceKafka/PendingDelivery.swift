import SluiceRecords
import Synchronization

/// The acknowledgement of one produced record, awaited with `position()`.
public final class PendingDelivery: Sendable {
    private enum State {
        case waiting(CheckedContinuation<RecordPosition, any Error>?)
        case done(Result<RecordPosition, KafkaError>)
    }
    private let state = Mutex<State>(.waiting(nil))

    init() {}

    /// Where the broker stored the record, once it acknowledged it.
    /// - Throws: `KafkaError` when delivery failed (timeout, unknown topic, record too large…).
    public func position() async throws -> RecordPosition {
        try await withCheckedThrowingContinuation { continuation in
            let done: Result<RecordPosition, KafkaError>? = state.withLock { state in
                switch state {
                case .done(let result): return result
                case .waiting:
                    state = .waiting(continuation)
                    return nil
                }
            }
            if let done { continuation.resume(with: done) }
        }
    }

    func complete(_ result: Result<RecordPosition, KafkaError>) {
        let waiter: CheckedContinuation<RecordPosition, any Error>? = state.withLock { state in
            guard case .waiting(let continuation) = state else { return nil }
            state = .done(result)
            return continuation
        }
        waiter?.resume(with: result.mapError { $0 as any Error })
    }
}

/// Records in flight, by the id passed to librdkafka as the message opaque.
final class DeliveryRegistry: Sendable {
    private struct State {
        var nextID = 1
        var pending: [Int: PendingDelivery] = [:]
        var capacityWaiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    func register(_ delivery: PendingDelivery) -> Int {
        state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.pending[id] = delivery
            return id
        }
    }

    func remove(_ id: Int) {
        _ = state.withLock { $0.pending.removeValue(forKey: id) }
    }

    /// Resolves the deliveries of one delivery-report batch and wakes producers waiting for room.
    func complete(_ results: [(id: Int, result: Result<RecordPosition, KafkaError>)]) {
        let (deliveries, waiters) = state.withLock { state in
            let deliveries = results.map { (state.pending.removeValue(forKey: $0.id), $0.result) }
            let waiters = state.capacityWaiters
            state.capacityWaiters = []
            return (deliveries, waiters)
        }
        for (delivery, result) in deliveries { delivery?.complete(result) }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until some record in flight is acknowledged; returns at once when none is in flight.
    func waitForCapacity() async {
        await withCheckedContinuation { continuation in
            let mustWait = state.withLock { state in
                guard !state.pending.isEmpty else { return false }
                state.capacityWaiters.append(continuation)
                return true
            }
            if !mustWait { continuation.resume() }
        }
    }

    var inFlight: Int { state.withLock { $0.pending.count } }

    /// Fails every delivery still waiting (the producer is closing).
    func failAll(_ error: KafkaError) {
        complete(state.withLock { Array($0.pending.keys) }.map { ($0, .failure(error)) })
    }
}
