import Logging

extension KafkaConsumer {
    /// A consumer outside any group reading every partition of `topic` from `offset`
    /// (`TopicPartitionOffset.beginning` or `.end`) onwards; nothing is committed.
    ///
    /// - Throws: `KafkaError` (`unknownTopic`) when the topic does not exist.
    public static func following(
        _ topic: String, from offset: Int64, connection: KafkaConnection, logger: Logger = Logger(label: "sluice.kafka")
    ) async throws -> KafkaConsumer {
        let admin = try KafkaAdmin.make(connection, logger: logger)
        let metadata = try await admin.topic(topic)
        await admin.close()
        guard let metadata else {
            throw KafkaError(.unknownTopic, "topic \(topic) does not exist on \(connection.brokerList); run `sluice topics apply`")
        }
        let consumer = try KafkaConsumer.make(ConsumerConfiguration(connection: connection), logger: logger)
        try consumer.assign(metadata.partitions.map { TopicPartitionOffset(TopicPartition(topic, $0.id), offset: offset) })
        return consumer
    }
}
