import SluiceKafka
import SluiceRecords

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
