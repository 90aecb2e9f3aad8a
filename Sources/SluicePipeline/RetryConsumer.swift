import Foundation
import Logging
import SluiceKafka

/// The retry half of a worker: a group consumer on the retry tier topics that holds each record until its
/// `sluice-retry-due` time — records not due never block those that are — then hands it to the worker
/// path. Offsets commit for the finished prefix, so a record held when the worker dies is read again.
final class RetryConsumer: Sendable {
    private let clients: GroupClients
    private let topics: [String]
    private let maxHeld: Int
    private let stopper: ConsumerStopper
    private let logger: Logger

    init(clients: GroupClients, topics: [String], maxHeld: Int, stopper: ConsumerStopper, logger: Logger) {
        self.clients = clients
        self.topics = topics
        self.maxHeld = maxHeld
        self.stopper = stopper
        self.logger = logger
    }

    func subscribe() throws {
        try clients.consumer.subscribe(topics: topics)
        stopper.attach(clients.consumer)
    }

    /// Consumes (after `subscribe`) until the stopper stops; `handle` runs each record once it is due.
    func run(_ handle: @escaping @Sendable (ConsumerRecord, KafkaProducer) async -> Void) async {
        let (consumer, producer, commits) = (clients.consumer, clients.producer, clients.commits)
        let held = AsyncSemaphore(permits: maxHeld)
        await withTaskGroup(of: Void.self) { group in
            for await event in consumer.events {
                switch event {
                case .record(let record):
                    await commits.started(record)
                    await held.acquire()
                    group.addTask {
                        defer { held.release() }
                        let dueMs = record.header(SluiceHeader.retryDue).flatMap { Int64(String(decoding: $0, as: UTF8.self)) } ?? 0
                        let waitMs = dueMs - Int64(Date().timeIntervalSince1970 * 1000)
                        // A stop ends the wait: the record stays uncommitted and is read again later.
                        guard await self.stopper.sleep(for: .milliseconds(max(0, waitMs + 1))) else { return }
                        await handle(record, producer)
                        await commits.finished(record)
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
        await clients.finish()
    }
}
