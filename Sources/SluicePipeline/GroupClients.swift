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
        /// How long a revocation waits for the running work of its partitions (nil: it does not wait).
        var revocationGrace: Duration?
    }

    let consumer: KafkaConsumer
    let producer: KafkaProducer
    let commits: CommitLoop
    /// Which partitions are still this consumer's: revoked on the poll thread, the moment the group takes
    /// them, so records of them not started yet do not start (even while the reader is busy).
    let ownership = PartitionOwnership()
    private let revocationGrace: Duration?
    private let logger: Logger

    private init(connection: KafkaConnection, options: Options, logger: Logger) throws {
        var configuration = ConsumerConfiguration(connection: connection, groupID: options.groupID)
        configuration.bufferCapacity = options.bufferCapacity
        configuration.fetchWaitMaxMs = options.fetchWaitMaxMs
        configuration.onRevoke = { [ownership] in ownership.revoke($0) }
        if let grace = options.revocationGrace {
            configuration.revocationGraceMs = Int(grace / .milliseconds(1))
            // The group waits this long for a member to rejoin; the grace must end well before.
            configuration.maxPollIntervalMs = max(
                configuration.maxPollIntervalMs, configuration.revocationGraceMs * 3 / 2)
        }
        revocationGrace = options.revocationGrace
        self.logger = logger
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

    /// Partitions were taken away (`ownership` knew at once): with a revocation grace, their running work
    /// is waited for (the rebalance holds meanwhile); then what finished is committed and the partitions
    /// forgotten (their next owner redoes the rest).
    func revoked(_ partitions: [TopicPartition]) async {
        if let revocationGrace {
            let start = ContinuousClock.now
            let idle = await ownership.waitUntilIdle(partitions, timeout: revocationGrace)
            let metadata: Logger.Metadata = [
                "partitions": "\(partitions)", "waited_ms": "\((ContinuousClock.now - start) / .milliseconds(1))",
            ]
            if idle {
                logger.info("revoked partitions released: their running work ended", metadata: metadata)
            } else {
                logger.warning(
                    "work of revoked partitions still runs after the revocation grace; their next owner may run it again",
                    metadata: metadata)
            }
        }
        await commits.commitNow()
        await commits.forget(partitions)
        consumer.acknowledgeRevocation()
    }

    /// Stops the commit loop, commits what finished, and closes both clients.
    private func finish() async {
        commits.stop()
        await commits.commitNow()
        await consumer.close()
        await producer.close()
    }
}
