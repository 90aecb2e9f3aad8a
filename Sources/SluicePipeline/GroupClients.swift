import Logging
import SluiceKafka

/// What a consume→produce component (router, worker) runs on: a group consumer with a bounded buffer,
/// a producer, and the loop committing the finished prefix of offsets — from start to a final commit.
final class GroupClients: Sendable {
    let consumer: KafkaConsumer
    let producer: KafkaProducer
    let commits: CommitLoop
    private let committing: Task<Void, Never>

    init(connection: KafkaConnection, groupID: String, bufferCapacity: Int, fetchWaitMaxMs: Int = 10, logger: Logger) throws {
        var configuration = ConsumerConfiguration(connection: connection, groupID: groupID)
        configuration.bufferCapacity = bufferCapacity
        configuration.fetchWaitMaxMs = fetchWaitMaxMs
        consumer = try KafkaConsumer.make(configuration, logger: logger)
        producer = try KafkaProducer.make(ProducerConfiguration(connection: connection), logger: logger)
        let commits = CommitLoop(consumer: consumer, logger: logger)
        self.commits = commits
        committing = Task { await commits.run() }
    }

    /// Partitions were taken away: commit what finished, then forget them (their new owner redoes the rest).
    func revoked(_ partitions: [TopicPartition]) async {
        await commits.commitNow()
        await commits.forget(partitions)
    }

    /// Stops the commit loop, commits what finished, and closes both clients.
    func finish() async {
        commits.stop()
        await committing.value
        await commits.commitNow()
        await consumer.close()
        await producer.close()
    }
}
