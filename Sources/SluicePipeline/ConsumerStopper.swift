import SluiceKafka
import Synchronization

/// Lets `stop()` end a component's consume loop — also when it is called before the loop started.
final class ConsumerStopper: Sendable {
    private let state = Mutex<(stopped: Bool, consumer: KafkaConsumer?)>((false, nil))

    /// The consumer whose events the loop reads; ended at once if a stop was already requested.
    func attach(_ consumer: KafkaConsumer) {
        let stopped = state.withLock { state in
            state.consumer = consumer
            return state.stopped
        }
        if stopped { consumer.finishEvents() }
    }

    func stop() {
        let consumer = state.withLock { state in
            state.stopped = true
            return state.consumer
        }
        consumer?.finishEvents()
    }
}
