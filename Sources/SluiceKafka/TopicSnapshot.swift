import Logging

/// Everything a topic holds right now: reads each partition from its start up to the high watermark
/// taken when the read began (records produced meanwhile are not waited for).
public enum TopicSnapshot {
    /// - Throws: `KafkaError` for a missing topic (`unknownTopic`, naming it) or when the records do not
    ///   arrive within `timeout`.
    public static func read(
        _ topic: String, connection: KafkaConnection, timeout: Duration = .seconds(60), logger: Logger = Logger(label: "sluice.kafka")
    ) async throws -> [ConsumerRecord] {
        let admin = try KafkaAdmin.make(connection, logger: logger)
        defer { Task { await admin.close() } }
        guard try await admin.topic(topic) != nil else {
            throw KafkaError(.unknownTopic, "topic \(topic) does not exist on \(connection.brokerList); run `sluice topics apply`")
        }
        var remaining = try await admin.highWatermarks(topics: [topic]).filter { $0.value > 0 }
        guard !remaining.isEmpty else { return [] }
        var configuration = ConsumerConfiguration(connection: connection)
        configuration.reportPartitionEOF = true
        let consumer = try KafkaConsumer.make(configuration, logger: logger)
        try consumer.assign(remaining.keys.map { TopicPartitionOffset($0, offset: TopicPartitionOffset.beginning) })
        defer { Task { await consumer.close() } }
        let deadline = ContinuousClock.now + timeout
        var records: [ConsumerRecord] = []
        var iterator = consumer.events.makeAsyncIterator()
        let expiry = Task {
            try? await Task.sleep(until: deadline)
            consumer.finishEvents()
        }
        defer { expiry.cancel() }
        while !remaining.isEmpty, let event = await iterator.next() {
            switch event {
            case .record(let record):
                guard let end = remaining[record.topicPartition], record.offset < end else { continue }
                records.append(record)
                if record.offset + 1 >= end { remaining[record.topicPartition] = nil }
            case .partitionEOF(let partition, let offset):
                // Compaction can leave the last offsets empty: the end of the log counts too.
                if let end = remaining[partition], offset >= end { remaining[partition] = nil }
            default:
                continue
            }
        }
        guard remaining.isEmpty else {
            throw KafkaError(.timedOut, "reading \(topic) did not reach its end within \(timeout) (\(remaining.count) partitions behind)")
        }
        return records
    }
}
