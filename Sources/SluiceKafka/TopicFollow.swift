import Logging

extension KafkaConsumer {
    /// A consumer outside any group reading every partition of `topic` from `offset`
    /// (`TopicPartitionOffset.beginning` or `.end`) onwards; nothing is committed.
    ///
    /// Followers are not on a latency path: the broker may hold an empty fetch `fetchWaitMaxMs` (each
    /// empty fetch costs it CPU, and every worker, dashboard and supervisor runs one).
    ///
    /// - Throws: `KafkaError` (`unknownTopic`) when the topic does not exist.
    public static func following(
        _ topic: String, from offset: Int64, connection: KafkaConnection, fetchWaitMaxMs: Int = 500,
        logger: Logger = Logger(label: "sluice.kafka")
    ) async throws -> KafkaConsumer {
        let admin = try KafkaAdmin.make(connection, logger: logger)
        let metadata = try await admin.topic(topic)
        await admin.close()
        guard let metadata else {
            throw KafkaError(.unknownTopic, "topic \(topic) does not exist on \(connection.brokerList); run `sluice topics apply`")
        }
        var configuration = ConsumerConfiguration(connection: connection)
        configuration.fetchWaitMaxMs = fetchWaitMaxMs
        let consumer = try KafkaConsumer.make(configuration, logger: logger)
        try consumer.assign(metadata.partitions.map { TopicPartitionOffset(TopicPartition(topic, $0.id), offset: offset) })
        return consumer
    }

    /// Hands every record to `body` until the calling task is cancelled, then closes the consumer.
    public func forEachRecord(_ body: @Sendable (ConsumerRecord) async -> Void) async {
        await withTaskCancellationHandler {
            for await event in events {
                if case .record(let record) = event { await body(record) }
            }
        } onCancel: {
            finishEvents()
        }
        await close()
    }
}
