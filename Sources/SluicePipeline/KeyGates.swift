import Synchronization

/// Keeps invocations of one ordering key in publish order: each waits for the one before it with the
/// same key to finish; different keys do not wait for each other.
public final class KeyGates: Sendable {
    /// The ticket of one invocation: wait on it before running, finish it after.
    public final class Ticket: Sendable {
        /// Dropped once waited on, so a busy key does not keep a chain of finished tickets alive.
        private let previous: Mutex<Ticket?>
        private let state = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
        let gates: KeyGates
        let key: String

        init(previous: Ticket?, gates: KeyGates, key: String) {
            self.previous = Mutex(previous)
            self.gates = gates
            self.key = key
        }

        /// Returns once every earlier invocation of this key finished.
        public func wait() async {
            guard let earlier = previous.withLock({ $0 }) else { return }
            await earlier.done()
            previous.withLock { $0 = nil }
        }

        func done() async {
            await withCheckedContinuation { continuation in
                let finished = state.withLock { state in
                    if state.done { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if finished { continuation.resume() }
            }
        }

        /// Lets the next invocation of the key run.
        public func finish() {
            let waiters = state.withLock { state in
                state.done = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
            gates.release(key: key, ticket: self)
        }
    }

    private let tails = Mutex<[String: Ticket]>([:])

    public init() {}

    /// Takes the next ticket of `key` (in the order records arrive).
    public func ticket(for key: String) -> Ticket {
        tails.withLock { tails in
            let ticket = Ticket(previous: tails[key], gates: self, key: key)
            tails[key] = ticket
            return ticket
        }
    }

    fileprivate func release(key: String, ticket: Ticket) {
        tails.withLock { tails in
            if tails[key] === ticket { tails[key] = nil }
        }
    }
}
