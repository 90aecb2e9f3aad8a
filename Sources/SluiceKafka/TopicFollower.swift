import Logging
import SluiceRecords
import SluiceSupport
import Synchronization

/// Reads every partition of one topic outside any group, from a start position; nothing is committed.
/// The one way Sluice reads a topic it does not consume as a group: the registry, the results index,
/// dead letters, snapshots, load samples and the dashboard's feeds.
///
/// `readToEnd` knows when the follower has caught up with the ends the partitions had when it opened —
/// the end of the log counts too, so a compacted topic whose last offsets are gone still ends.
public final class TopicFollower: Sendable {
    public let topic: String
    private let consumer: KafkaConsumer
    private let closed = Atomic<Bool>(false)
    /// Per partition, the end (high watermark) when the follower opened.
    public let endsAtOpen: [TopicPartition: Int64]

    private init(topic: String, consumer: KafkaConsumer, endsAtOpen: [TopicPartition: Int64]) {
        self.topic = topic
        self.consumer = consumer
        self.endsAtOpen = endsAtOpen
    }

    /// Opens a follower of `topic` from `offset` (`TopicPartitionOffset.beginning`, `.end` or `.tail(n)`).
    ///
    /// Followers are not on a latency path: the broker may hold an empty fetch `fetchWaitMaxMs` (each
    /// empty fetch costs it CPU, and every worker, dashboard and supervisor runs some).
    /// - Throws: `KafkaError` (`unknownTopic`, naming the topic and the command to run) when it does not exist.
    public static func open(
        _ topic: String, from offset: Int64, connection: KafkaConnection, fetchWaitMaxMs: Int = 500,
        bufferCapacity: Int? = nil, logger: Logger = Logger(label: "sluice.kafka")
    ) async throws -> TopicFollower {
        // `.tail(n)` is resolved here from the high watermark Fetch gives, not by librdkafka from
        // ListOffsets(latest), which the embedded broker answers wrongly (often far too low: the whole
        // topic was read instead of its tail).
        let tail = offset <= TopicPartitionOffset.tail(0) ? TopicPartitionOffset.tail(0) - offset : nil
        return try await open(
            topic, startingAt: { _, end in tail.map { max(0, end - $0) } ?? offset }, connection: connection,
            fetchWaitMaxMs: fetchWaitMaxMs, bufferCapacity: bufferCapacity, logger: logger)
    }

    /// Opens a follower of `topic` from the offset `start` gives each partition, knowing its end (the
    /// high watermark, from Fetch: right also on the embedded broker).
    public static func open(
        _ topic: String, startingAt start: (TopicPartition, _ end: Int64) -> Int64, connection: KafkaConnection,
        fetchWaitMaxMs: Int = 500, bufferCapacity: Int? = nil, logger: Logger = Logger(label: "sluice.kafka")
    ) async throws -> TopicFollower {
        let (metadata, ends) = try await KafkaAdmin.with(connection, logger: logger) { admin in
            let metadata = try await admin.topic(topic)
            return (metadata, metadata == nil ? [:] : try await admin.highWatermarks(topics: [topic]))
        }
        guard let metadata else {
            throw KafkaError(
                .unknownTopic, "topic \(topic) does not exist on \(connection.brokerList); run `sluice topics apply`")
        }
        var configuration = ConsumerConfiguration(connection: connection)
        configuration.fetchWaitMaxMs = fetchWaitMaxMs
        configuration.reportPartitionEOF = true
        if let bufferCapacity { configuration.bufferCapacity = bufferCapacity }
        let consumer = try KafkaConsumer.make(configuration, logger: logger)
        try await consumer.assign(
            metadata.partitions.map { partition in
                let topicPartition = TopicPartition(topic, partition.id)
                return TopicPartitionOffset(topicPartition, offset: start(topicPartition, ends[topicPartition] ?? 0))
            })
        return TopicFollower(topic: topic, consumer: consumer, endsAtOpen: ends)
    }

    /// Hands records to `body` until every partition was read up to its end at open.
    /// - Throws: `KafkaError` (`timedOut`) when that takes longer than `timeout`; the follower is then
    ///   finished.
    public func readToEnd(timeout: Duration, _ body: @escaping @Sendable (ConsumerRecord) async -> Void) async throws {
        let remaining = Mutex(endsAtOpen.filter { $0.value > 0 })
        let reached = await withTimeout(timeout, onTimeout: { self.consumer.finishEvents() }) { () async -> Bool in
            if remaining.withLock({ $0.isEmpty }) { return true }
            for await event in self.consumer.events {
                switch event {
                case .record(let record):
                    await body(record)
                    remaining.withLock { ends in
                        if let end = ends[record.topicPartition], record.offset + 1 >= end {
                            ends[record.topicPartition] = nil
                        }
                    }
                case .partitionEOF(let partition, let offset):
                    remaining.withLock { ends in
                        if let end = ends[partition], offset >= end { ends[partition] = nil }
                    }
                default:
                    continue
                }
                if remaining.withLock({ $0.isEmpty }) { return true }
            }
            return false
        }
        guard reached == true else {
            let behind = remaining.withLock { $0.count }
            throw KafkaError(
                .timedOut, "reading \(topic) did not reach its end within \(timeout) (\(behind) partitions behind)")
        }
    }

    /// Hands every further record to `body` until the calling task is cancelled or `finish()`, then
    /// closes the follower.
    public func forEachRecord(
        _ body: @Sendable (ConsumerRecord) async -> Void,
        reachedEnd: (@Sendable (TopicPartition, _ offset: Int64) -> Void)? = nil
    ) async {
        await withTaskCancellationHandler {
            for await event in consumer.events {
                switch event {
                case .record(let record): await body(record)
                case .partitionEOF(let partition, let offset): reachedEnd?(partition, offset)
                default: break
                }
            }
        } onCancel: {
            consumer.finishEvents()
        }
        await close()
    }

    /// Ends `forEachRecord` (after what is buffered).
    public func finish() { consumer.finishEvents() }

    /// Closes the follower (once: later calls return at once).
    public func close() async {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        await consumer.close()
    }
}
