import SluiceKafka
import SluiceRecords

/// Per partition, which offsets were taken and which finished; what may be committed is the contiguous
/// prefix of finished work — so a crash at any moment redelivers everything unfinished and nothing else.
public struct OffsetTracker: Sendable {
    private struct Partition: Sendable {
        /// The next offset to commit: every offset below it finished.
        var committable: Int64
        var finishedAhead: Set<Int64> = []
        var committed: Int64?
    }
    private var partitions: [TopicPartition: Partition] = [:]

    public init() {}

    /// Records that `offset` was taken; the first offset seen of a partition starts its prefix.
    public mutating func started(_ partition: TopicPartition, offset: Int64) {
        if partitions[partition] == nil { partitions[partition] = Partition(committable: offset) }
    }

    /// Records that the work of `offset` ended (result, retry or dead letter written).
    public mutating func finished(_ partition: TopicPartition, offset: Int64) {
        guard var state = partitions[partition], offset >= state.committable else { return }
        state.finishedAhead.insert(offset)
        while state.finishedAhead.remove(state.committable) != nil { state.committable += 1 }
        partitions[partition] = state
    }

    /// Offsets to commit now (next offset to read, per partition), those not committed yet.
    public func pendingCommits() -> [TopicPartitionOffset] {
        partitions.compactMap { partition, state in
            state.committed == state.committable ? nil : TopicPartitionOffset(partition, offset: state.committable)
        }.sorted { $0.topicPartition < $1.topicPartition }
    }

    /// Per tracked partition, the next offset to commit (every offset below it finished).
    public var committable: [TopicPartition: Int64] { partitions.mapValues(\.committable) }

    public mutating func markCommitted(_ offsets: [TopicPartitionOffset]) {
        for entry in offsets { partitions[entry.topicPartition]?.committed = entry.offset }
    }

    /// Forgets partitions taken away by a rebalance (their new owner starts from the committed offset).
    public mutating func forget(_ revoked: [TopicPartition]) {
        for partition in revoked { partitions[partition] = nil }
    }
}
