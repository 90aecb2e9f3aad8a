import Logging
import SluiceKafka
import SluiceRecords

/// Awaits the acknowledgements of each event's invocation requests in the order events were read, sends
/// again what failed, and marks the event finished (its offset may commit) once all are acknowledged. A
/// request the broker refuses for good is replaced by its dead letter: nothing is skipped unrecorded.
struct RequestAcknowledger: Sendable {
    /// What one event becomes for one function: the record to write, and how to make the dead letter to
    /// write in its place if the broker refuses it for good (nil when the record is a dead letter already;
    /// made only then, off the common path).
    struct Route: Sendable {
        var record: ProducerRecord
        var deadLetter: (@Sendable () -> ProducerRecord)?
    }

    private typealias Pending = (record: ConsumerRecord, deliveries: [PendingDelivery?], routes: [Route])
    private let producer: KafkaProducer
    private let commits: CommitLoop
    private let inFlight: AsyncSemaphore
    private let inFlightBytes: ByteBudget
    private let logger: Logger
    private let stream: AsyncStream<Pending>
    private let input: AsyncStream<Pending>.Continuation

    init(
        producer: KafkaProducer, commits: CommitLoop, inFlight: AsyncSemaphore, inFlightBytes: ByteBudget,
        logger: Logger
    ) {
        self.inFlightBytes = inFlightBytes
        self.producer = producer
        self.commits = commits
        self.inFlight = inFlight
        self.logger = logger
        (stream, input) = AsyncStream.makeStream(of: Pending.self)
    }

    func add(_ record: ConsumerRecord, deliveries: [PendingDelivery?], routes: [Route]) {
        input.yield((record, deliveries, routes))
    }

    /// No more events: `run` returns once those added are acknowledged.
    func finish() { input.finish() }

    func run() async {
        for await (record, deliveries, routes) in stream {
            for (delivery, route) in zip(deliveries, routes) {
                await acknowledge(delivery, route, event: record)
            }
            await commits.finished(record)
            inFlightBytes.release(record.byteCount)
            inFlight.release()
        }
    }

    private func acknowledge(_ delivery: PendingDelivery?, _ route: Route, event record: ConsumerRecord) async {
        var pending = delivery
        var request = route.record
        var replaced = route.deadLetter == nil
        while true {
            do {
                guard let delivery = pending else {
                    throw KafkaError(.queueFull, "not handed to the producer yet", retriable: true)
                }
                _ = try await delivery.position()
                return
            } catch let error as KafkaError
                where !error.isRetriable && error.code != .timedOut && !replaced && route.deadLetter != nil
            {
                // Cannot ever be written: its dead letter takes its place (and is sent until acknowledged).
                logger.error(
                    "invocation request refused; writing its dead letter",
                    metadata: [
                        "event": "\(record.topic)/\(record.partition)@\(record.offset)", "error": "\(error)",
                    ])
                request = route.deadLetter?() ?? request
                replaced = true
                pending = try? await producer.enqueue(request)
            } catch {
                logger.warning(
                    "an invocation request was not acknowledged; sending it again", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(200))
                pending = try? await producer.enqueue(request)
            }
        }
    }
}
