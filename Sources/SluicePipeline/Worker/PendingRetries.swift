import Logging
import SluiceKafka
import SluiceRecords
import SluiceSupport
import Synchronization

/// The retry chains a worker must know of when it takes invocations partitions over: records on the retry
/// tiers that the retry group has not finished (past its committed offsets), whose request came from one
/// of those partitions (`sluice-held-partition`). Later records of their keys wait for them there, as
/// they did on the previous owner.
struct PendingRetry: Sendable, Equatable {
    var invocationID: String
    var function: String
    /// The key of the retry record, which is the invocation request's key.
    var key: String?
    var heldPartition: Int32
    var attempt: Int
}

enum PendingRetries {
    /// At most this many are kept (anyone can write a tier); beyond, later records of those keys go on.
    static let limit = 100_000

    /// Reads the unfinished part of every tier once.
    /// - Throws: `KafkaError` when the broker cannot be asked or a tier is not read within `timeout`.
    static func find(
        held partitions: Set<Int32>, tiers: [String], retryGroup: String, connection: KafkaConnection,
        timeout: Duration, logger: Logger
    ) async throws -> [PendingRetry] {
        guard !partitions.isEmpty, !tiers.isEmpty else { return [] }
        let (ends, committed) = try await KafkaAdmin.with(connection, logger: logger) { admin in
            let ends = try await admin.highWatermarks(topics: tiers)
            return (ends, try await admin.committedOffsets(group: retryGroup, partitions: Array(ends.keys)))
        }
        let start: @Sendable (TopicPartition) -> Int64 = { committed[$0].flatMap { $0 } ?? 0 }
        let found = Mutex<[PendingRetry]>([])
        for tier in tiers where ends.contains(where: { $0.key.topic == tier && $0.value > start($0.key) }) {
            let follower = try await TopicFollower.open(
                tier, startingAt: { partition, _ in start(partition) }, connection: connection, fetchWaitMaxMs: 10,
                logger: logger)
            try await closing(close: follower.close) {
                try await follower.readToEnd(timeout: timeout) { record in
                    guard case .success(let request) = InvocationRequest.decode(record),
                        let held = request.heldPartition, partitions.contains(held)
                    else { return }
                    let retry = PendingRetry(
                        invocationID: request.invocationID, function: request.function, key: record.keyText,
                        heldPartition: held, attempt: request.attempt)
                    found.withLock { found in
                        if found.count < limit { found.append(retry) }
                    }
                }
            }
        }
        // A chain moves from tier to tier: one hold per invocation.
        var seen = Set<String>()
        return found.withLock { $0 }.filter { seen.insert($0.invocationID).inserted }
    }
}

extension InvocationHandler {
    /// A key hold taken over with a partition: `ticket` is finished when the chain ends.
    struct TakenOverHold: Sendable {
        var retry: PendingRetry
        var partition: TopicPartition
        var ticket: KeyGates.Ticket
        var bound: Duration
    }

    /// Called on an assignment, before any record of `partitions` takes its ticket: the retry chains still
    /// running for records of them (by any worker) hold their keys here too. A scan that fails is logged,
    /// and those keys then go on unheld (as before a takeover was known).
    func takeOverHolds(of partitions: [TopicPartition], gates: KeyGates) async -> [TakenOverHold] {
        let invocations = configuration.topics.invocations
        let numbers = Set(partitions.filter { $0.topic == invocations }.map(\.partition))
        let pending: [PendingRetry]
        do {
            pending = try await PendingRetries.find(
                held: numbers, tiers: tiers.topics, retryGroup: configuration.retryGroupID,
                connection: configuration.connection, timeout: .seconds(30), logger: logger)
        } catch {
            logger.warning(
                "cannot read the retry tiers; keys with a record in retry are not held on the partitions taken over",
                metadata: ["error": "\(error)"])
            return []
        }
        return pending.compactMap { retry in
            guard !index.isFinal(retry.invocationID), let spec = registry.function(named: retry.function),
                let ticket = orderingTicket(
                    partition: retry.heldPartition, function: retry.function, key: retry.key, gates: gates)
            else { return nil }
            let bound = spec.manifest.retry.chainBound(
                afterAttempt: max(retry.attempt - 1, 1), timeoutSeconds: spec.manifest.timeoutSeconds)
            return TakenOverHold(
                retry: retry, partition: TopicPartition(invocations, retry.heldPartition), ticket: ticket, bound: bound)
        }
    }
}
