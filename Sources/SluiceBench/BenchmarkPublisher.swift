import Foundation
import SluiceKafka
import SluiceRecords

/// Publishes the benchmarks' events: 100 bytes each, starting with their send time (`PipelineBenchmark.payload`).
struct BenchmarkPublisher: Sendable {
    let connection: KafkaConnection
    /// A topic nobody reads, for warming producers up.
    let warmupTopic: String

    /// Publishes `count` records, paced at `rate` per second when given. The producer is warmed first
    /// (one acknowledged record to `warmupTopic`): a new idempotent producer takes about half a second
    /// before its first delivery, which would otherwise land on the first measured records.
    func publish(topic: String, count: Int, rate: Int?) async throws {
        let producer = try KafkaProducer.make(ProducerConfiguration(connection: connection))
        _ = try await producer.send(ProducerRecord(topic: warmupTopic, value: Array("warm-up".utf8)))
        let clock = ContinuousClock()
        let start = clock.now
        var deliveries: [PendingDelivery] = []
        deliveries.reserveCapacity(count)
        for index in 0..<count {
            if let rate { try await clock.sleep(until: start + .microseconds(index * 1_000_000 / rate)) }
            deliveries.append(
                try await producer.enqueue(
                    ProducerRecord(
                        topic: topic, key: Array("k\(index % 1000)".utf8),
                        value: PipelineBenchmark.payload(sentMicros: PipelineBenchmark.nowMicros))))
        }
        for delivery in deliveries { _ = try await delivery.position() }
        await producer.close()
    }
}
