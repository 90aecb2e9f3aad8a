import Foundation
import Logging
import ServiceLifecycle
import SluiceKafka
import SluiceRecords
import Synchronization

/// The invocation ids whose outcome is settled, read from `sluice.results`: those with a `success` result,
/// and those that are final (success, or dead-lettered), so a redelivered request is not run twice and a
/// key waiting on a record in retry learns when its chain ended. The window is the last
/// `windowPerPartition` results of each partition (default 100 000), read at start and followed live.
/// Only results a worker wrote count (their `ResultSigner` MAC checks out), and the index forgets the
/// oldest ids past `capacity`, so its memory is bounded however many results arrive.
public final class OutcomeIndex: Service, Sendable {
    private struct Settled {
        var succeeded: Set<String> = []
        var final: Set<String> = []
        /// Ids in the order they became final, oldest first from `head` (for forgetting).
        var order: [String] = []
        var head = 0
        /// Retry chains not final yet, with what they hold back (from their non-final results).
        var pending: [String: KeyHold] = [:]
    }
    /// The most retry chains kept in `pending`; beyond, a worker taking over does not hold their keys.
    public static let maxPending = 100_000
    /// The results topic.
    public let topic: String
    /// The most settled ids kept.
    public let capacity: Int
    private let signer: ResultSigner
    private let settled = Mutex(Settled())
    private let finalWaiters = Waiters<String>()
    private let position = Mutex<[TopicPartition: Int64]>([:])
    private let follower: TopicFollower
    private let connection: KafkaConnection
    /// Woken whenever a result was read (for `catchUp`).
    private let progressWaiters = Waiters<Int>()

    private init(
        topic: String, capacity: Int, signer: ResultSigner, follower: TopicFollower, connection: KafkaConnection
    ) {
        self.topic = topic
        self.capacity = capacity
        self.signer = signer
        self.follower = follower
        self.connection = connection
    }

    public static func start(
        connection: KafkaConnection, topic: String = PlatformTopics.standard.results,
        windowPerPartition: Int64 = 100_000, capacity: Int = 1_000_000, signer: ResultSigner, logger: Logger
    ) async throws -> OutcomeIndex {
        var starts: [TopicPartition: Int64] = [:]
        let follower = try await TopicFollower.open(
            topic,
            startingAt: { partition, end in
                let start = max(0, end - windowPerPartition)
                starts[partition] = start
                return start
            }, connection: connection, fetchWaitMaxMs: 10, bufferCapacity: 50_000, logger: logger)
        let index = OutcomeIndex(
            topic: topic, capacity: capacity, signer: signer, follower: follower, connection: connection)
        // Where reading starts counts as read: an index that starts at the end (a window of 0) of a
        // partition that gets no new result has caught up all the same.
        index.position.withLock { $0 = starts }
        return index
    }

    /// Applies results until cancelled or a graceful shutdown, then closes the index.
    public func run() async throws {
        await withTaskCancellationOrGracefulShutdownHandler {
            await self.follower.forEachRecord {
                self.apply($0)
            } reachedEnd: { partition, offset in
                // The end may lie past the last record (a transaction marker, compacted records).
                self.position.withLock { $0[partition] = max($0[partition] ?? 0, offset) }
                self.progressWaiters.signal(0)
            }
        } onCancelOrGracefulShutdown: {
            self.follower.finish()
        }
    }

    private func apply(_ record: ConsumerRecord) {
        if let id = record.keyText {
            let success = record.header(SluiceHeader.status, is: "success")
            if success || record.header(SluiceHeader.final, is: "true") {
                // Unsigned: not written by a worker of this platform, so not trusted.
                if signer.isAuthentic(record, invocationID: id) { note(id, success: success) }
            } else if let held = KeyHold(headersOf: record), signer.isAuthentic(record, invocationID: id) {
                settled.withLock { settled in
                    guard !settled.final.contains(id), settled.pending.count < Self.maxPending else { return }
                    settled.pending[id] = held
                }
            }
        }
        position.withLock { $0[record.topicPartition] = record.offset + 1 }
        progressWaiters.signal(0)
    }

    /// Closes an index that was started and never run.
    public func close() async { await follower.close() }

    public func hasSucceeded(_ invocationID: String) -> Bool {
        settled.withLock { $0.succeeded.contains(invocationID) }
    }

    /// Whether the invocation succeeded or was dead-lettered: nothing more will run for it.
    public func isFinal(_ invocationID: String) -> Bool {
        settled.withLock { $0.final.contains(invocationID) }
    }

    /// Records a final outcome (this process wrote it, or it was read from the topic).
    public func note(_ invocationID: String, success: Bool) {
        settled.withLock { settled in
            if success { settled.succeeded.insert(invocationID) }
            settled.pending[invocationID] = nil
            guard settled.final.insert(invocationID).inserted else { return }
            settled.order.append(invocationID)
            while settled.order.count - settled.head > capacity {
                let oldest = settled.order[settled.head]
                settled.final.remove(oldest)
                settled.succeeded.remove(oldest)
                settled.head += 1
            }
            // Compact now and then, so the order array does not grow with what was forgotten.
            if settled.head > capacity {
                settled.order.removeFirst(settled.head)
                settled.head = 0
            }
        }
        finalWaiters.signal(invocationID)
    }

    /// Waits until the invocation is final, `timeout` passes, or `giveUp()` holds (re-checked at
    /// `wakeWaiters()`). Returns whether it is final.
    public func waitForFinal(_ invocationID: String, timeout: Duration, giveUp: @escaping @Sendable () -> Bool) async
        -> Bool
    {
        _ = await finalWaiters.wait(invocationID, timeout: timeout) { self.isFinal(invocationID) || giveUp() }
        return isFinal(invocationID)
    }

    /// The retry chains not final whose holds are on `partitions` of `topic` (by invocation id), as far as
    /// the results read so far tell: what a worker taking those partitions over must hold back.
    public func pendingHolds(topic: String, partitions: Set<Int32>) -> [(invocationID: String, hold: KeyHold)] {
        settled.withLock { settled in
            settled.pending.filter { $0.value.topic == topic && partitions.contains($0.value.partition) }
                .map { (invocationID: $0.key, hold: $0.value) }
        }.sorted { $0.invocationID < $1.invocationID }
    }

    /// Makes every `waitForFinal` re-check its `giveUp` condition.
    public func wakeWaiters() { finalWaiters.signalAll() }

    /// Waits until every result that exists now has been read (run before taking over partitions).
    public func catchUp(timeout: Duration = .seconds(30)) async throws {
        let marks = try await KafkaAdmin.highWatermarks(topics: [topic], connection: connection)
        let caughtUp = await progressWaiters.wait(0, timeout: timeout) {
            marks.allSatisfy { mark in mark.value == 0 || self.position.withLock({ $0[mark.key] ?? 0 }) >= mark.value }
        }
        guard caughtUp else {
            throw KafkaError(.timedOut, "the results index did not catch up with \(topic) within \(timeout)")
        }
    }
}
