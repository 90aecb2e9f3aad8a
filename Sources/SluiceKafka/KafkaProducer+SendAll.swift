import SluiceRecords

extension KafkaProducer {
    /// Sends the records `next()` yields (until nil) with at most `window` of them unacknowledged;
    /// `acknowledged` gets each one's position, in order. Returns how many were sent.
    public func sendAll(
        window: Int = 10_000, next: () async throws -> ProducerRecord?, acknowledged: (RecordPosition) -> Void
    ) async throws -> Int {
        var pending: [PendingDelivery] = []
        var head = 0
        var count = 0
        while let record = try await next() {
            pending.append(try await enqueue(record))
            count += 1
            if pending.count - head >= window {
                acknowledged(try await pending[head].position())
                head += 1
            }
            if head > 5 * window {
                pending.removeFirst(head)
                head = 0
            }
        }
        for delivery in pending[head...] { acknowledged(try await delivery.position()) }
        return count
    }
}
