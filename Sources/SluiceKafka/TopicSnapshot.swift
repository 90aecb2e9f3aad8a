import Logging
import SluiceRecords
import SluiceSupport
import Synchronization

/// Everything a topic holds right now: reads each partition from its start up to the high watermark
/// taken when the read began (records produced meanwhile are not waited for).
public enum TopicSnapshot {
    /// - Throws: `KafkaError` for a missing topic (`unknownTopic`, naming it) or when the records do not
    ///   arrive within `timeout`.
    public static func read(
        _ topic: String, connection: KafkaConnection, timeout: Duration = .seconds(60),
        logger: Logger = Logger(label: "sluice.kafka")
    ) async throws -> [ConsumerRecord] {
        let follower = try await TopicFollower.open(
            topic, from: TopicPartitionOffset.beginning, connection: connection, fetchWaitMaxMs: 10, logger: logger)
        let ends = follower.endsAtOpen
        let records = Mutex<[ConsumerRecord]>([])
        try await closing(close: follower.close) {
            try await follower.readToEnd(timeout: timeout) { record in
                guard let end = ends[record.topicPartition], record.offset < end else { return }
                records.withLock { $0.append(record) }
            }
        }
        return records.withLock { $0 }
    }
}
