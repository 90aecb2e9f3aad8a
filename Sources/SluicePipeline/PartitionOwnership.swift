import SluiceKafka
import SluiceRecords
import Synchronization

/// Which partitions a consumer still owns, by generation, and which of their records are running: a
/// record taken before its partition was revoked must not start afterwards, because its new owner runs it
/// from the committed offset; and a revocation waits for the records already running (`waitUntilIdle`),
/// so they finish and are committed here instead of being run twice.
final class PartitionOwnership: Sendable {
    private struct State {
        var generations: [TopicPartition: Int] = [:]
        var running: [TopicPartition: Int] = [:]
    }
    private let state = Mutex(State())
    private let idle = Waiters<Int>()
    private let revocationObservers = Mutex<[@Sendable () -> Void]>([])

    /// Runs `observer` after every revocation (e.g. to wake waits that give up for revoked partitions).
    func onRevoke(_ observer: @escaping @Sendable () -> Void) {
        revocationObservers.withLock { $0.append(observer) }
    }

    /// The partition's generation now; compare it later with `isCurrent` or `begin`.
    func generation(of partition: TopicPartition) -> Int {
        state.withLock { $0.generations[partition, default: 0] }
    }

    func revoke(_ partitions: [TopicPartition]) {
        state.withLock { state in
            for partition in partitions { state.generations[partition, default: 0] += 1 }
        }
        for observer in revocationObservers.withLock({ $0 }) { observer() }
    }

    func isCurrent(_ partition: TopicPartition, generation: Int) -> Bool {
        self.generation(of: partition) == generation
    }

    /// Starts running a record of `partition` taken at `generation`; false (nothing started) when the
    /// partition was revoked since. Every `true` is followed by one `end`.
    func begin(_ partition: TopicPartition, generation: Int) -> Bool {
        state.withLock { state in
            guard state.generations[partition, default: 0] == generation else { return false }
            state.running[partition, default: 0] += 1
            return true
        }
    }

    func end(_ partition: TopicPartition) {
        let nowIdle = state.withLock { state in
            let left = state.running[partition, default: 1] - 1
            state.running[partition] = left > 0 ? left : nil
            return left <= 0
        }
        if nowIdle { idle.signal(0) }
    }

    /// Waits until no record of `partitions` is running, or `timeout` passes; returns whether they are idle.
    func waitUntilIdle(_ partitions: [TopicPartition], timeout: Duration) async -> Bool {
        await idle.wait(0, timeout: timeout) {
            self.state.withLock { state in partitions.allSatisfy { state.running[$0] == nil } }
        }
    }
}
