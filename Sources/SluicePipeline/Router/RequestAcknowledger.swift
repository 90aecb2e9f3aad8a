import Logging
import SluiceKafka
import SluiceRecords

/// Awaits the acknowledgements of each event's invocation requests in the order events were read, sends
/// again what failed, and marks the event finished (its offset may commit) once all are acknowledged.
struct RequestAcknowledger: Sendable {
    private typealias Pending = (record: ConsumerRecord, deliveries: [PendingDelivery?], requests: [ProducerRecord])
    private let producer: KafkaProducer
    private let commits: CommitLoop
    private let inFlight: AsyncSemaphore
    private let logger: Logger
    private let stream: AsyncStream<Pending>
    private let input: AsyncStream<Pending>.Continuation

    init(producer: KafkaProducer, commits: CommitLoop, inFlight: AsyncSemaphore, logger: Logger) {
        self.producer = producer
        self.commits = commits
        self.inFlight = inFlight
        self.logger = logger
        (stream, input) = AsyncStream.makeStream(of: Pending.self)
    }

    func add(_ record: ConsumerRecord, deliveries: [PendingDelivery?], requests: [ProducerRecord]) {
        input.yield((record, deliveries, requests))
    }

    /// No more events: `run` returns once those added are acknowledged.
    func finish() { input.finish() }

    func run() async {
        for await (record, deliveries, requests) in stream {
            for (delivery, request) in zip(deliveries, requests) {
                await acknowledge(delivery, request, event: record)
            }
            await commits.finished(record)
            inFlight.release()
        }
    }

    private func acknowledge(_ delivery: PendingDelivery?, _ request: ProducerRecord, event record: ConsumerRecord)
        async
    {
        var pending = delivery
        while true {
            do {
                guard let delivery = pending else {
                    throw KafkaError(.queueFull, "not handed to the producer yet", retriable: true)
                }
                _ = try await delivery.position()
                return
            } catch let error as KafkaError where !error.isRetriable && error.code != .timedOut {
                // Cannot ever be written (too large…): said loudly, then the event moves on.
                logger.error(
                    "invocation request refused; event skipped",
                    metadata: [
                        "event": "\(record.topic)/\(record.partition)@\(record.offset)", "error": "\(error)",
                    ])
                return
            } catch {
                logger.warning(
                    "an invocation request was not acknowledged; sending it again", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(200))
                pending = try? await producer.enqueue(request)
            }
        }
    }
}
