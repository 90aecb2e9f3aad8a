import SluiceKafka
import SluiceRecords
import Synchronization

/// Which partitions a consumer still owns, by generation: a record taken before its partition was
/// revoked must not start afterwards, because its new owner runs it from the committed offset.
final class PartitionOwnership: Sendable {
    private let generations = Mutex<[TopicPartition: Int]>([:])

    /// The partition's generation now; compare it later with `isCurrent`.
    func generation(of partition: TopicPartition) -> Int {
        generations.withLock { $0[partition, default: 0] }
    }

    func revoke(_ partitions: [TopicPartition]) {
        generations.withLock { generations in
            for partition in partitions { generations[partition, default: 0] += 1 }
        }
    }

    func isCurrent(_ partition: TopicPartition, generation: Int) -> Bool {
        self.generation(of: partition) == generation
    }
}
