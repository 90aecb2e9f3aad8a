import Synchronization

/// Counts permits; `acquire` suspends (never blocks a thread) until one is free. The number of permits
/// can change while in use (`setPermits`): a lower count takes effect as holders release.
public final class AsyncSemaphore: Sendable {
    private struct State {
        var capacity: Int
        /// Free permits; below zero after the capacity was lowered while they were held.
        var free: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state: Mutex<State>

    public init(permits: Int) {
        state = Mutex(State(capacity: max(permits, 1), free: max(permits, 1)))
    }

    public func acquire() async {
        await withCheckedContinuation { continuation in
            let granted = state.withLock { state in
                if state.free > 0 {
                    state.free -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    public func release() {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            if state.free >= 0, !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.free += 1
            return nil
        }
        waiter?.resume()
    }

    /// Changes the number of permits (at least 1); waiters get any that became free.
    public func setPermits(_ permits: Int) {
        let woken: [CheckedContinuation<Void, Never>] = state.withLock { state in
            let capacity = max(permits, 1)
            state.free += capacity - state.capacity
            state.capacity = capacity
            var woken: [CheckedContinuation<Void, Never>] = []
            while state.free > 0, !state.waiters.isEmpty {
                state.free -= 1
                woken.append(state.waiters.removeFirst())
            }
            return woken
        }
        for waiter in woken { waiter.resume() }
    }

    public var permits: Int { state.withLock { $0.capacity } }
}
