import SluiceSupport
import Synchronization

/// Tasks waiting for a condition about a key (an invocation id turning final, a stop), each with a
/// time limit. `signal` wakes the waiters of a key; a waiter checks its condition under the same lock,
/// so a signal between the check and the wait is never missed.
final class Waiters<Key: Hashable & Sendable>: Sendable {
    private enum Entry {
        case created
        /// Its wait ended before it was registered: the registration returns at once.
        case abandoned
        case waiting(Key, CheckedContinuation<Void, Never>)
    }
    private struct State {
        var next = 0
        var entries: [Int: Entry] = [:]
        var byKey: [Key: Set<Int>] = [:]
    }
    private let state = Mutex(State())

    init() {}

    /// Waits until `ready()` holds (checked now and at every `signal(key)`) or `timeout` passes.
    /// Returns whether `ready()` held.
    func wait(_ key: Key, timeout: Duration, ready: @escaping @Sendable () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !ready() {
            guard ContinuousClock.now < deadline else { return false }
            let token = state.withLock { state in
                defer { state.next += 1 }
                state.entries[state.next] = .created
                return state.next
            }
            // `suspend` ends only when resumed: at a signal, or by `release` when the time is up.
            _ = await withTimeout(deadline - ContinuousClock.now, onTimeout: { self.release(token) }) {
                await self.suspend(key, token: token, ready: ready)
            }
            release(token)
        }
        return true
    }

    /// Wakes every waiter of `key`; each re-checks its condition.
    func signal(_ key: Key) {
        let continuations = state.withLock { state in
            state.byKey.removeValue(forKey: key)?.compactMap { token -> CheckedContinuation<Void, Never>? in
                guard case .waiting(_, let continuation) = state.entries.removeValue(forKey: token) else { return nil }
                return continuation
            } ?? []
        }
        for continuation in continuations { continuation.resume() }
    }

    /// Wakes every waiter.
    func signalAll() {
        let continuations = state.withLock { state in
            let waiting = state.entries.compactMap { token, entry -> (Int, CheckedContinuation<Void, Never>)? in
                guard case .waiting(_, let continuation) = entry else { return nil }
                return (token, continuation)
            }
            for (token, _) in waiting { state.entries[token] = nil }
            state.byKey = [:]
            return waiting.map(\.1)
        }
        for continuation in continuations { continuation.resume() }
    }

    private func suspend(_ key: Key, token: Int, ready: @Sendable () -> Bool) async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state in
                guard case .created = state.entries[token], !ready() else {
                    state.entries[token] = nil
                    return true
                }
                state.entries[token] = .waiting(key, continuation)
                state.byKey[key, default: []].insert(token)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Ends a token's wait: resumes it if registered, or makes its registration return at once.
    private func release(_ token: Int) {
        let continuation: CheckedContinuation<Void, Never>? = state.withLock { state in
            switch state.entries[token] {
            case .created:
                state.entries[token] = .abandoned
                return nil
            case .waiting(let key, let continuation):
                state.entries[token] = nil
                state.byKey[key]?.remove(token)
                if state.byKey[key]?.isEmpty == true { state.byKey[key] = nil }
                return continuation
            case .abandoned, nil:
                return nil
            }
        }
        continuation?.resume()
    }
}
