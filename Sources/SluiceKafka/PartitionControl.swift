import CRdKafka
import Foundation
import Logging
import SluiceRecords
import Synchronization

/// A consumer's partition state: the assignment, partitions the caller paused, and whether fetching is
/// paused because the buffer is full. Rebalances and backpressure are applied on the poll thread.
final class PartitionControl: Sendable {
    private struct State {
        var assignment: Set<TopicPartition> = []
        var userPaused: Set<TopicPartition> = []
        var backpressurePaused = false
    }
    private let state = Mutex(State())
    private let buffer: ConsumerEventBuffer
    private let seeks = Mutex<[(positions: [TopicPartitionOffset], done: CheckedContinuation<Void, any Error>)]>([])
    /// How long a revocation waits for its reader's `acknowledgeRevocation` (0: it does not wait).
    private let revocationGrace: Duration
    /// Revocations delivered, revocations acknowledged, and whether acknowledgements are still awaited.
    private let revocations = Mutex((delivered: 0, acknowledged: 0, awaited: true))
    private let revocationAcknowledged = NSCondition()

    private let logger: Logger

    private let onRevoke: (@Sendable ([TopicPartition]) -> Void)?

    init(
        buffer: ConsumerEventBuffer, revocationGrace: Duration = .zero,
        onRevoke: (@Sendable ([TopicPartition]) -> Void)? = nil, logger: Logger
    ) {
        self.buffer = buffer
        self.revocationGrace = revocationGrace
        self.onRevoke = onRevoke
        self.logger = logger
    }

    /// The reader handled a `.revoked` event: the revocation it holds may complete.
    func acknowledgeRevocation() {
        updateRevocations { $0.acknowledged += 1 }
    }

    /// The reader is gone (the consumer closes, or its events ended): revocations no longer wait for it.
    func stopAwaitingRevocations() {
        updateRevocations { $0.awaited = false }
    }

    /// Changes the revocation state under the condition's lock, so a waiter between its check and its
    /// wait cannot miss the change.
    private func updateRevocations(_ change: (inout (delivered: Int, acknowledged: Int, awaited: Bool)) -> Void) {
        revocationAcknowledged.lock()
        defer { revocationAcknowledged.unlock() }
        revocations.withLock { change(&$0) }
        revocationAcknowledged.broadcast()
    }

    /// Holds the rebalance (on the poll thread) until the reader acknowledged every revocation delivered, or
    /// the grace has passed.
    private func awaitAcknowledgement() {
        let (seconds, attoseconds) = revocationGrace.components
        let deadline = Date() + TimeInterval(Double(seconds) + Double(attoseconds) / 1e18)
        let settled = { self.revocations.withLock { !$0.awaited || $0.acknowledged >= $0.delivered } }
        revocationAcknowledged.lock()
        defer { revocationAcknowledged.unlock() }
        while !settled() {
            if !revocationAcknowledged.wait(until: deadline), !settled() {
                logger.warning(
                    "revoked partitions were not released by their reader within \(revocationGrace); giving them up",
                    metadata: ["grace": "\(revocationGrace)"])
                return
            }
        }
    }

    func setAssignment(_ partitions: Set<TopicPartition>) {
        state.withLock { $0.assignment = partitions }
    }

    /// How long a full buffer holds the poll thread before fetching is paused.
    static let pauseAfter = Duration.seconds(1)

    /// When the buffer is full, holds the poll thread until the reader has drained half; fetching is
    /// paused only when that takes longer than `pauseAfter`, and resumed once there is room.
    ///
    /// Holding first, not pausing at once: librdkafka drops what it prefetched for a paused partition, and
    /// on resume the embedded broker took about a second to serve it again — a full buffer for a moment
    /// (a burst) cost a one-second stall. While the poll thread is held, librdkafka's own prefetch bound
    /// (`queued.max.messages.kbytes`) stops fetching.
    func applyBackpressure(client: RDKafkaClient) {
        let full = state.withLock { !$0.backpressurePaused } && buffer.isFull
        if full, buffer.waitForRoom(timeout: Self.pauseAfter) { return }
        let action: (pause: Bool, partitions: Set<TopicPartition>)? = state.withLock { state in
            if !state.backpressurePaused && buffer.isFull {
                state.backpressurePaused = true
                return (true, state.assignment)
            }
            if state.backpressurePaused && buffer.hasRoom {
                state.backpressurePaused = false
                return (false, state.assignment.subtracting(state.userPaused))
            }
            return nil
        }
        guard let action, !action.partitions.isEmpty else { return }
        _ = client.withHandle { Self.setPaused(action.pause, Array(action.partitions), handle: $0) }
    }

    /// Queues a seek for the poll thread, and returns once it is done.
    func seek(_ positions: [TopicPartitionOffset]) async throws {
        try await withCheckedThrowingContinuation { continuation in
            seeks.withLock { $0.append((positions, continuation)) }
            buffer.wake()
        }
    }

    /// Runs queued seeks on the poll thread: every record it buffered before the seek is from the old
    /// position and is dropped; every record it fetches after is from the new one.
    func applySeeks(client: RDKafkaClient, timeoutMs: Int32) {
        let pending = seeks.withLock { seeks in
            defer { seeks = [] }
            return seeks
        }
        for (positions, done) in pending {
            let result: Result<Void, any Error> = client.withHandle { handle in
                TopicPartitionList.with(positions) { list in
                    if let error = rd_kafka_seek_partitions(handle, list, timeoutMs) {
                        let message = String(cString: rd_kafka_error_string(error))
                        rd_kafka_error_destroy(error)
                        return .failure(KafkaError(.librdkafka(0), "seek failed: \(message)"))
                    }
                    if let (partition, err) = TopicPartitionList.firstError(list) {
                        return .failure(KafkaError.rd(err, "seek of \(partition) failed"))
                    }
                    return .success(())
                }
            }
            buffer.dropRecords(of: Set(positions.map(\.topicPartition)))
            done.resume(with: result)
        }
    }

    /// Fails seeks the poll thread will no longer run (the consumer closed).
    func failPendingSeeks() {
        let pending = seeks.withLock { seeks in
            defer { seeks = [] }
            return seeks
        }
        for (_, done) in pending {
            done.resume(throwing: KafkaError(.closed, "the consumer closed before the seek ran"))
        }
    }

    func userPause(_ partitions: Set<TopicPartition>, client: RDKafkaClient) throws {
        state.withLock { $0.userPaused.formUnion(partitions) }
        try client.withHandle { try Self.checked(Self.setPaused(true, Array(partitions), handle: $0), "pause") }
    }

    func userResume(_ partitions: Set<TopicPartition>, client: RDKafkaClient) throws {
        let resumable = state.withLock { state in
            state.userPaused.subtract(partitions)
            return state.backpressurePaused ? [] : partitions
        }
        guard !resumable.isEmpty else { return }
        try client.withHandle { try Self.checked(Self.setPaused(false, Array(resumable), handle: $0), "resume") }
    }

    /// Called from librdkafka's rebalance callback on the poll thread.
    func rebalance(
        handle: OpaquePointer, err: rd_kafka_resp_err_t,
        partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
    ) {
        let changed = TopicPartitionList.read(partitions).map(\.topicPartition)
        let cooperative = rd_kafka_rebalance_protocol(handle).map { String(cString: $0) } == "COOPERATIVE"
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            if cooperative {
                if let error = rd_kafka_incremental_assign(handle, partitions) { rd_kafka_error_destroy(error) }
            } else {
                rd_kafka_assign(handle, partitions)
            }
            let pauseNew = state.withLock { state in
                if cooperative { state.assignment.formUnion(changed) } else { state.assignment = Set(changed) }
                return state.backpressurePaused
            }
            // librdkafka keeps a partition's pause across a rebalance, so a partition paused before it
            // was revoked would stay paused now: set the state every assigned partition should have.
            Self.setPaused(pauseNew, changed, handle: handle)
            buffer.push(.assigned(changed.sorted()))
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            buffer.dropRecords(of: Set(changed))
            onRevoke?(changed.sorted())
            let wait = revocations.withLock { state in
                state.delivered += 1
                return state.awaited && revocationGrace > .zero
            }
            buffer.push(.revoked(changed.sorted()))
            // The partitions stay this consumer's (its commits count) until the reader has finished their
            // running work, so their next owner never starts a record that is still running here.
            if wait { awaitAcknowledgement() }
            if cooperative {
                if let error = rd_kafka_incremental_unassign(handle, partitions) { rd_kafka_error_destroy(error) }
            } else {
                rd_kafka_assign(handle, nil)
            }
            state.withLock { state in
                state.assignment.subtract(changed)
                state.userPaused.subtract(changed)
            }
        default:
            rd_kafka_assign(handle, nil)
            state.withLock { $0.assignment = [] }
            buffer.push(.error(KafkaError.rd(err, "rebalance failed")))
        }
    }

    @discardableResult
    private static func setPaused(_ pause: Bool, _ partitions: [TopicPartition], handle: OpaquePointer)
        -> rd_kafka_resp_err_t
    {
        TopicPartitionList.with(partitions.map { TopicPartitionOffset($0, offset: 0) }) { list in
            pause ? rd_kafka_pause_partitions(handle, list) : rd_kafka_resume_partitions(handle, list)
        }
    }

    private static func checked(_ err: rd_kafka_resp_err_t, _ what: String) throws {
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.rd(err, "cannot \(what) partitions") }
    }
}
