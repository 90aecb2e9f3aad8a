import Logging
import SluiceRecords

/// What `sluice tail` reads: a topic from its end (or beginning), outside a group or as one. As a group,
/// `commitPrinted` commits what the caller handled; a group member without a committed offset starts at
/// the true end of its partitions (the embedded broker's ListOffsets cannot be trusted for "latest").
public struct TopicTail: Sendable {
    public let topic: String
    public let group: String?
    public let fromBeginning: Bool
    let connection: KafkaConnection

    public init(topic: String, group: String?, fromBeginning: Bool, connection: KafkaConnection) {
        self.topic = topic
        self.group = group
        self.fromBeginning = fromBeginning
        self.connection = connection
    }

    /// Hands every record to `handle` until it returns false; then commits (as a group) and closes.
    /// - Throws: `KafkaError` (`unknownTopic` naming the topic and the command that lists topics; fatal
    ///   consumer errors).
    public func read(_ handle: (ConsumerRecord) async throws -> Bool) async throws {
        try await KafkaAdmin.with(connection) { admin in
            guard let metadata = try await admin.topic(topic) else {
                throw KafkaError(
                    .unknownTopic,
                    "topic \(topic) does not exist on \(connection.brokerList); `sluice topics list` shows the topics there are."
                )
            }
            var configuration = ConsumerConfiguration(connection: connection, groupID: group)
            configuration.offsetReset = fromBeginning ? .earliest : .latest
            let consumer = try KafkaConsumer.make(configuration)
            do {
                if group != nil {
                    try consumer.subscribe(topics: [topic])
                } else if fromBeginning {
                    try await consumer.assign(
                        metadata.partitions.map {
                            TopicPartitionOffset(TopicPartition(topic, $0.id), offset: TopicPartitionOffset.beginning)
                        })
                } else {
                    // Explicit end offsets: "latest" resolves through ListOffsets, which the embedded broker gets wrong.
                    try await consumer.assign(
                        try await admin.highWatermarks(topics: [topic]).map {
                            TopicPartitionOffset($0.key, offset: $0.value)
                        })
                }
                try await consume(consumer, admin: admin, handle)
            } catch {
                await consumer.close()
                throw error
            }
            await consumer.close()
        }
    }

    private func consume(_ consumer: KafkaConsumer, admin: KafkaAdmin, _ handle: (ConsumerRecord) async throws -> Bool)
        async throws
    {
        var handled = 0
        var next: [TopicPartition: Int64] = [:]
        func commit() async throws {
            if group != nil { try await consumer.commit(next.map { TopicPartitionOffset($0.key, offset: $0.value) }) }
        }
        loop: for await event in consumer.events {
            switch event {
            case .record(let record):
                let more = try await handle(record)
                handled += 1
                next[record.topicPartition] = record.offset + 1
                if handled % 500 == 0 { try await commit() }
                if !more { break loop }
            case .assigned(let partitions) where group != nil && !fromBeginning:
                try await startAtEnd(partitions, consumer: consumer, admin: admin)
            case .error(let error) where error.isFatal:
                throw error
            default:
                continue
            }
        }
        try await commit()
    }

    /// A group without a committed offset starts at the true end of the partition.
    private func startAtEnd(_ partitions: [TopicPartition], consumer: KafkaConsumer, admin: KafkaAdmin) async throws {
        let committed = try await consumer.committed(partitions)
        let fresh = partitions.filter { committed[$0] ?? nil == nil }
        guard !fresh.isEmpty else { return }
        let marks = try await admin.highWatermarks(topics: [topic])
        try await consumer.seek(
            fresh.compactMap { partition in marks[partition].map { TopicPartitionOffset(partition, offset: $0) } })
    }
}
