import Foundation
import Logging
import ServiceLifecycle
import SluiceFunctions
import SluiceKafka
import SluiceRecords

/// The retry half of a worker: a group consumer on the retry tier topics that holds each record until its
/// `sluice-retry-due` time — records not due never block those that are — then hands it to the worker
/// path. Offsets commit for the finished prefix, so a record held when the worker dies is read again.
final class RetryConsumer: Service, Sendable {
    private let clients: GroupClients
    private let topics: [String]
    private let maxHeld: Int
    private let maxHeldBytes: Int
    private let stopper: ConsumerStopper
    private let logger: Logger
    /// Runs a record once it is due, and returns once what follows from it is acknowledged.
    private let handle: @Sendable (ConsumerRecord, KafkaProducer) async -> Void
    /// The longest a record may be held (ms): its function's longest backoff (`retry.max_ms`) and a
    /// second; 0 for a function that is not deployed.
    private let longestHoldMs: @Sendable (ConsumerRecord) -> Int64

    init(
        clients: GroupClients, topics: [String], maxHeld: Int, maxHeldBytes: Int, stopper: ConsumerStopper,
        logger: Logger,
        longestHoldMs: @escaping @Sendable (ConsumerRecord) -> Int64,
        handle: @escaping @Sendable (ConsumerRecord, KafkaProducer) async -> Void
    ) {
        self.handle = handle
        self.longestHoldMs = longestHoldMs
        self.clients = clients
        self.topics = topics
        self.maxHeld = maxHeld
        self.maxHeldBytes = maxHeldBytes
        self.stopper = stopper
        self.logger = logger
    }

    func subscribe() throws {
        try clients.consumer.subscribe(topics: topics)
        stopper.attach(clients.consumer)
    }

    /// How long to hold a record until its `sluice-retry-due` (ms since the epoch): anything the header says
    /// — missing, malformed, past, or further than `longestMs` (its function's longest backoff; anyone can
    /// write to a tier) — is kept within 0 ms … `longestMs`, and never more than a day.
    static func waitMs(
        _ record: ConsumerRecord, longestMs: Int64 = Int64(RetryPolicy.longestBackoffMs),
        nowMs: Int64 = Int64(Date().timeIntervalSince1970 * 1000)
    ) -> Int64 {
        let longest = min(max(0, longestMs), Int64(RetryPolicy.longestBackoffMs))
        let dueMs = record.headerText(SluiceHeader.retryDue).flatMap(Int64.init) ?? nowMs
        let clamped = min(max(dueMs, nowMs), nowMs + longest)
        return clamped - nowMs + (clamped > nowMs ? 1 : 0)
    }

    /// Consumes (after `subscribe`) until the stopper stops (the worker's graceful shutdown); `handle` runs
    /// each record once it is due.
    /// The clients are closed by the scope that made them.
    func run() async {
        let (consumer, producer, commits) = (clients.consumer, clients.producer, clients.commits)
        let held = AsyncSemaphore(permits: maxHeld)
        let heldBytes = ByteBudget(limit: maxHeldBytes)
        let ownership = clients.ownership
        // Discarding: a finished task is freed at once, not kept until the group ends.
        await withDiscardingTaskGroup { group in
            for await event in consumer.events {
                switch event {
                case .record(let record):
                    await commits.started(record)
                    await held.acquire()
                    let bytes = record.byteCount
                    await heldBytes.acquire(bytes)
                    let generation = ownership.generation(of: record.topicPartition)
                    group.addTask {
                        defer {
                            heldBytes.release(bytes)
                            held.release()
                        }
                        // A stop ends the wait: the record stays uncommitted and is read again later.
                        let wait = Self.waitMs(record, longestMs: self.longestHoldMs(record))
                        guard await self.stopper.sleep(for: .milliseconds(wait)) else { return }
                        // Its partition moved while it was held: the new owner runs it from the committed
                        // offset, so running it here too would run it twice. Once started, a revocation
                        // waits for it (`GroupClients.revoked`).
                        guard ownership.begin(record.topicPartition, generation: generation) else { return }
                        await self.handle(record, producer)
                        await commits.finished(record)
                        ownership.end(record.topicPartition)
                    }
                case .revoked(let partitions):
                    await clients.revoked(partitions)
                case .error(let error):
                    logger.warning("retry consumer error", metadata: ["error": "\(error)"])
                case .assigned, .partitionEOF:
                    break
                }
            }
        }
    }
}
