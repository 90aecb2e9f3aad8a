import SluiceKafka
import Synchronization

/// Lets `stop()` end a component's consume loops — also when it is called before they started — and
/// wakes whatever waits on the component (records held for a retry, keys waiting on one).
final class ConsumerStopper: Sendable {
    private let state = Mutex<(stopped: Bool, consumers: [KafkaConsumer], hooks: [@Sendable () -> Void])>(
        (false, [], []))
    private let waiters = Waiters<Int>()

    /// A consumer whose events a loop reads; ended at once if a stop was already requested.
    func attach(_ consumer: KafkaConsumer) {
        let stopped = state.withLock { state in
            state.consumers.append(consumer)
            return state.stopped
        }
        if stopped { consumer.finishEvents() }
    }

    /// Calls `hook` at the stop (at once if it already came): to wake what waits elsewhere.
    func onStop(_ hook: @escaping @Sendable () -> Void) {
        let stopped = state.withLock { state in
            state.hooks.append(hook)
            return state.stopped
        }
        if stopped { hook() }
    }

    func stop() {
        let (consumers, hooks) = state.withLock { state in
            state.stopped = true
            return (state.consumers, state.hooks)
        }
        for consumer in consumers { consumer.finishEvents() }
        for hook in hooks { hook() }
        waiters.signalAll()
    }

    var isStopped: Bool { state.withLock { $0.stopped } }

    /// Sleeps for `duration`; returns false at once when a stop comes first.
    func sleep(for duration: Duration) async -> Bool {
        guard duration > .zero else { return !isStopped }
        return await !waiters.wait(0, timeout: duration) { self.isStopped }
    }
}
