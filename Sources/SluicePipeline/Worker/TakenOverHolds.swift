import SluiceKafka
import SluiceRecords
import Synchronization

extension InvocationHandler {
    /// A key hold taken over with a partition: `ticket` is finished when the chain ends.
    struct TakenOverHold: Sendable {
        var invocationID: String
        var partition: TopicPartition
        var ticket: KeyGates.Ticket
        var bound: Duration
    }

    /// Called on an assignment, once the results index caught up and before any record of `partitions` takes
    /// its ticket: the retry chains still running for records of them (on any worker, as their non-final
    /// results tell) hold their keys here too, as they did on the previous owner.
    func takeOverHolds(of partitions: [TopicPartition], gates: KeyGates) -> [TakenOverHold] {
        let invocations = configuration.topics.invocations
        let numbers = Set(partitions.filter { $0.topic == invocations }.map(\.partition))
        guard !numbers.isEmpty else { return [] }
        return index.pendingHolds(topic: invocations, partitions: numbers).compactMap { pending in
            let hold = pending.hold
            guard let spec = registry.function(named: hold.function),
                spec.manifest.ordering != .key || hold.key != nil,
                let ticket = orderingTicket(
                    partition: hold.partition, function: hold.function, key: hold.key, gates: gates)
            else { return nil }
            // From the chain's first failure: an upper bound wherever it is now.
            let bound = spec.manifest.retry.chainBound(afterAttempt: 1, timeoutSeconds: spec.manifest.timeoutSeconds)
            return TakenOverHold(
                invocationID: pending.invocationID, partition: TopicPartition(invocations, hold.partition),
                ticket: ticket, bound: bound)
        }
    }
}

/// The retry chains whose holds a worker took over, by invocation id. A hold ends early when the chain's
/// own request comes again on the invocations topic: its previous owner died before committing it, maybe
/// after its non-final result was written and before its retry record was, so the chain starts over here
/// instead of waiting for itself until its bound.
final class TakenOverChains: Sendable {
    private let state = Mutex<(held: Set<String>, released: Set<String>)>(([], []))

    func hold(_ invocationID: String) {
        state.withLock { _ = $0.held.insert(invocationID) }
    }

    var isEmpty: Bool { state.withLock { $0.held.isEmpty } }

    /// Releases the hold of `invocationID`; returns whether there was one.
    func release(_ invocationID: String) -> Bool {
        state.withLock { state in
            guard state.held.contains(invocationID) else { return false }
            state.released.insert(invocationID)
            return true
        }
    }

    func isReleased(_ invocationID: String) -> Bool {
        state.withLock { $0.released.contains(invocationID) }
    }

    func ended(_ invocationID: String) {
        state.withLock { state in
            state.held.remove(invocationID)
            state.released.remove(invocationID)
        }
    }
}
