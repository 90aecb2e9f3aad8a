import Synchronization

/// Counts permits; `acquire` suspends (never blocks a thread) until one is free.
public final class AsyncSemaphore: Sendable {
    private let state: Mutex<(permits: Int, waiters: [CheckedContinuation<Void, Never>])>

    public init(permits: Int) {
        state = Mutex((max(permits, 1), []))
    }

    public func acquire() async {
        await withCheckedContinuation { continuation in
            let granted = state.withLock { state in
                if state.permits > 0 {
                    state.permits -= 1
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
            if state.waiters.isEmpty {
                state.permits += 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        waiter?.resume()
    }
}
