import Synchronization

/// Bytes held at once (records taken from Kafka and not finished): `acquire` suspends until the bytes
/// fit under the limit, first come first served. One record larger than the whole limit is let through
/// when nothing else is held, so it cannot wait forever. Record counts alone do not bound memory: a
/// thousand records may be a thousand megabytes.
final class ByteBudget: Sendable {
    private struct State {
        var used = 0
        var waiters: [(bytes: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }
    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = max(limit, 1)
    }

    func acquire(_ bytes: Int) async {
        await withCheckedContinuation { continuation in
            let granted = state.withLock { state in
                if state.waiters.isEmpty, state.used == 0 || state.used + bytes <= limit {
                    state.used += bytes
                    return true
                }
                state.waiters.append((bytes, continuation))
                return false
            }
            if granted { continuation.resume() }
        }
    }

    func release(_ bytes: Int) {
        let woken: [CheckedContinuation<Void, Never>] = state.withLock { state in
            state.used = max(0, state.used - bytes)
            var woken: [CheckedContinuation<Void, Never>] = []
            while let first = state.waiters.first, state.used == 0 || state.used + first.bytes <= limit {
                state.used += first.bytes
                woken.append(first.continuation)
                state.waiters.removeFirst()
            }
            return woken
        }
        for waiter in woken { waiter.resume() }
    }

    var used: Int { state.withLock { $0.used } }
    var waiting: Int { state.withLock { $0.waiters.count } }
}
