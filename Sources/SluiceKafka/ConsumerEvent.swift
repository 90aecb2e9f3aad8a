import SluiceRecords

/// What a consumer delivers to its caller, in order.
public enum ConsumerEvent: Sendable {
    case record(ConsumerRecord)
    /// The group gave this consumer these partitions (with the eager assignor in use, all it now holds;
    /// with a cooperative one, those added).
    case assigned([TopicPartition])
    /// The group took these partitions away; records of them still buffered were dropped. With
    /// `revocationGraceMs` set, the rebalance waits for the reader's `acknowledgeRevocation`.
    case revoked([TopicPartition])
    /// The partition is caught up at `offset` (only with `reportPartitionEOF`).
    case partitionEOF(TopicPartition, offset: Int64)
    /// A consumer-level error; the consumer keeps running unless `isFatal`.
    case error(KafkaError)
}

/// Reads a consumer's events with `for await`.
public struct ConsumerEvents: AsyncSequence, Sendable {
    public typealias Element = ConsumerEvent
    let buffer: ConsumerEventBuffer

    public struct AsyncIterator: AsyncIteratorProtocol {
        let buffer: ConsumerEventBuffer
        public mutating func next() async -> ConsumerEvent? { await buffer.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffer: buffer) }
}
