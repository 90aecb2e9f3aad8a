import Logging
import ServiceLifecycle
import SluiceKafka
import SluiceRecords

/// Tracks a consumer's taken and finished offsets and commits the finished prefix: commits are coalesced
/// (one in flight at a time, covering everything finished meanwhile). A `Service` owned by its
/// `GroupClients`: it runs until `stop()` (not a graceful shutdown: the final commit comes after the
/// work it covers has finished).
actor CommitLoop: Service {
    private var tracker = OffsetTracker()
    private let consumer: KafkaConsumer
    private let logger: Logger
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init(consumer: KafkaConsumer, logger: Logger) {
        self.consumer = consumer
        self.logger = logger
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func started(_ record: ConsumerRecord) {
        tracker.started(record.topicPartition, offset: record.offset)
    }

    func finished(_ record: ConsumerRecord) {
        tracker.finished(record.topicPartition, offset: record.offset)
        wake.yield()
    }

    /// Commits whenever work finished, until `stop`.
    nonisolated func run() async throws {
        for await _ in wakeups { await commitNow() }
    }

    nonisolated func stop() { wake.finish() }

    /// Commits the finished prefix of every partition now.
    func commitNow() async {
        let pending = tracker.pendingCommits()
        guard !pending.isEmpty else { return }
        do {
            try await consumer.commit(pending)
            tracker.markCommitted(pending)
        } catch {
            // Lost partitions fail to commit; their new owner redoes the unfinished work.
            logger.info("commit failed; the work will be redelivered", metadata: ["error": "\(error)"])
        }
    }

    /// Per partition being worked on, the next offset to commit.
    func committable() -> [TopicPartition: Int64] {
        tracker.committable
    }

    func forget(_ partitions: [TopicPartition]) {
        tracker.forget(partitions)
    }
}
