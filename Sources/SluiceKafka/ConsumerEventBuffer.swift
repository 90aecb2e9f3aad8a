import Foundation
import SluiceRecords
import Synchronization

/// The bounded hand-over between a consumer's poll thread and its one reader. When the buffered records
/// reach `capacity`, or their bytes `byteCapacity`, the poll thread pauses fetching; below half of both,
/// fetching resumes.
final class ConsumerEventBuffer: Sendable {
    private struct State {
        var incoming: [ConsumerEvent] = []
        var outgoing: [ConsumerEvent] = []  // reversed: the next event is last
        var records = 0
        var bytes = 0
        var waiter: CheckedContinuation<ConsumerEvent?, Never>?
        var finished = false

        mutating func popFirst() -> ConsumerEvent? {
            if outgoing.isEmpty {
                outgoing = incoming.reversed()
                incoming.removeAll(keepingCapacity: true)
            }
            guard let event = outgoing.popLast() else { return nil }
            if case .record(let record) = event {
                records -= 1
                bytes -= record.byteCount
            }
            return event
        }
    }

    private let state = Mutex(State())
    let capacity: Int
    let byteCapacity: Int
    /// Where the poll thread waits for room (`waitForRoom`); the reader signals it.
    private let room = NSCondition()
    private let pollerWaiting = Atomic<Bool>(false)
    private let wakeups = Atomic<Int>(0)

    init(capacity: Int, byteCapacity: Int = 64 << 20) {
        self.capacity = max(capacity, 1)
        self.byteCapacity = max(byteCapacity, 1)
    }

    /// Blocks the poll thread until the reader has drained half of the buffer or `wake()` is called;
    /// false when `timeout` passed first.
    func waitForRoom(timeout: Duration) -> Bool {
        room.lock()
        defer { room.unlock() }
        pollerWaiting.store(true, ordering: .sequentiallyConsistent)
        defer { pollerWaiting.store(false, ordering: .sequentiallyConsistent) }
        let woken = wakeups.load(ordering: .sequentiallyConsistent)
        let deadline = Date().addingTimeInterval(Double(timeout / .milliseconds(1)) / 1000)
        while !hasRoom {
            if wakeups.load(ordering: .sequentiallyConsistent) != woken || isFinished { return true }
            if !room.wait(until: deadline) { return hasRoom }
        }
        return true
    }

    /// Ends a `waitForRoom` at once (a seek is queued, the consumer is closing).
    func wake() {
        wakeups.add(1, ordering: .sequentiallyConsistent)
        broadcastRoom()
    }

    /// Signals the poll thread when it waits and the buffer has room again.
    private func signalRoomIfAwaited() {
        guard pollerWaiting.load(ordering: .sequentiallyConsistent), hasRoom else { return }
        broadcastRoom()
    }

    private func broadcastRoom() {
        room.lock()
        room.broadcast()
        room.unlock()
    }

    private var isFinished: Bool { state.withLock { $0.finished } }

    /// Adds an event from the poll thread.
    func push(_ event: ConsumerEvent) {
        let waiter: CheckedContinuation<ConsumerEvent?, Never>? = state.withLock { state in
            if state.finished { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.incoming.append(event)
            if case .record(let record) = event {
                state.records += 1
                state.bytes += record.byteCount
            }
            return nil
        }
        waiter?.resume(returning: event)
    }

    /// The next event; nil once the consumer closed or the calling task is cancelled.
    func next() async -> ConsumerEvent? {
        // An event ready now is returned without suspending: a continuation always suspends the task and
        // sends it back through the executor, a round trip per record.
        if let ready = state.withLock({ $0.popFirst() }) {
            signalRoomIfAwaited()
            return ready
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready: ConsumerEvent?? = state.withLock { state in
                    if let event = state.popFirst() { return .some(event) }
                    if state.finished || Task.isCancelled { return .some(nil) }
                    state.waiter = continuation
                    return nil
                }
                if let ready {
                    signalRoomIfAwaited()
                    continuation.resume(returning: ready)
                }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }

    var bufferedRecords: Int { state.withLock { $0.records } }
    var bufferedBytes: Int { state.withLock { $0.bytes } }
    var isFull: Bool { state.withLock { $0.records >= capacity || $0.bytes >= byteCapacity } }
    var hasRoom: Bool { state.withLock { $0.records <= capacity / 2 && $0.bytes <= byteCapacity / 2 } }

    /// Drops buffered records of `partitions` (revoked or seeked: they will be fetched again).
    func dropRecords(of partitions: Set<TopicPartition>) {
        state.withLock { state in
            func keep(_ event: ConsumerEvent) -> Bool {
                if case .record(let record) = event { return !partitions.contains(record.topicPartition) }
                return true
            }
            state.incoming.removeAll { !keep($0) }
            state.outgoing.removeAll { !keep($0) }
            let records = (state.incoming + state.outgoing).compactMap { event -> ConsumerRecord? in
                if case .record(let record) = event { record } else { nil }
            }
            state.records = records.count
            state.bytes = records.reduce(0) { $0 + $1.byteCount }
        }
    }

    /// Ends the stream: the reader gets nil once the buffer is empty.
    func finish() {
        let waiter = state.withLock { state in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
        wake()
    }
}
