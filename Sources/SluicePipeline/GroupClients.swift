import Logging
import SluiceKafka
import SluiceRecords

/// What a consume→produce component (router, worker) runs on: a group consumer with a bounded buffer,
/// a producer, and the loop committing the finished prefix of offsets. They live for the scope of
/// `with`, which ends with a final commit and both clients closed.
final class GroupClients: Sendable {
    struct Options: Sendable {
        var groupID: String
        /// Records taken from Kafka and not finished.
        var bufferCapacity: Int
        var fetchWaitMaxMs = 10
    }

    let consumer: KafkaConsumer
    let producer: KafkaProducer
    let commits: CommitLoop

    private init(connection: KafkaConnection, options: Options, logger: Logger) throws {
        var configuration = ConsumerConfiguration(connection: connection, groupID: options.groupID)
        configuration.bufferCapacity = options.bufferCapacity
        configuration.fetchWaitMaxMs = options.fetchWaitMaxMs
        consumer = try KafkaConsumer.make(configuration, logger: logger)
        producer = try KafkaProducer.make(ProducerConfiguration(connection: connection), logger: logger)
        commits = CommitLoop(consumer: consumer, logger: logger)
    }

    /// Runs `body` with the clients and their commit loop; when it returns (or throws), commits what
    /// finished and closes both clients.
    static func with(
        connection: KafkaConnection, _ options: Options, logger: Logger,
        _ body: @Sendable (GroupClients) async throws -> Void
    ) async throws {
        let clients = try GroupClients(connection: connection, options: options, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await clients.commits.run() }
            do {
                try await body(clients)
            } catch {
                await clients.finish()
                throw error
            }
            await clients.finish()
        }
    }

    /// Partitions were taken away: commit what finished, then forget them (their new owner redoes the rest).
    func revoked(_ partitions: [TopicPartition]) async {
        await commits.commitNow()
        await commits.forget(partitions)
    }

    /// Stops the commit loop, commits what finished, and closes both clients.
    private func finish() async {
        commits.stop()
        await commits.commitNow()
        await consumer.close()
        await producer.close()
    }
}
