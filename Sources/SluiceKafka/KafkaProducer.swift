import CRdKafka
import Logging
import SluiceRecords
import SluiceSupport

/// Produces records; each send resolves once the broker acknowledged the record.
///
/// Delivery reports come through librdkafka's event API on a dedicated poll thread.
public final class KafkaProducer: Sendable {
    let client: RDKafkaClient
    private let deliveries = DeliveryRegistry()
    private let poller: PollThread
    private let configuration: ProducerConfiguration

    private init(client: RDKafkaClient, configuration: ProducerConfiguration) {
        self.client = client
        self.configuration = configuration
        let deliveries = self.deliveries
        self.poller = PollThread(name: "sluice-producer-poll") {
            client.serveMainQueue(timeoutMs: 100) { event in
                if rd_kafka_event_type(event) == RD_KAFKA_EVENT_DR {
                    deliveries.complete(Self.deliveryResults(event))
                }
            }
        }
    }

    /// Creates a producer; nothing is sent to the cluster until the first record.
    public static func make(_ configuration: ProducerConfiguration, logger: Logger = Logger(label: "sluice.kafka"))
        throws -> KafkaProducer
    {
        let client = try RDKafkaClient.make(
            kind: .producer, properties: configuration.properties, events: RD_KAFKA_EVENT_DR, logger: logger)
        return KafkaProducer(client: client, configuration: configuration)
    }

    deinit { poller.requestStop() }

    /// Hands a record to the client without waiting; throws `.queueFull` when the buffer is full.
    public func produce(_ record: ProducerRecord) throws -> PendingDelivery {
        let delivery = PendingDelivery()
        let id = deliveries.register(delivery)
        let headers = record.headers.isEmpty ? nil : Self.makeHeaders(record.headers)
        let err = client.withHandle { handle in
            withOptionalBytes(record.key) { key, keyLength in
                withOptionalBytes(record.value) { value, valueLength in
                    sluice_produce(
                        handle, record.topic, record.partition ?? RD_KAFKA_PARTITION_UA, key, keyLength, value,
                        valueLength, headers, UnsafeMutableRawPointer(bitPattern: id))
                }
            }
        }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            if let headers { rd_kafka_headers_destroy(headers) }
            deliveries.remove(id)
            throw KafkaError.rd(err, "cannot produce to \(record.topic)")
        }
        return delivery
    }

    /// Hands a record to the client, waiting for room when the buffer is full (backpressure).
    public func enqueue(_ record: ProducerRecord) async throws -> PendingDelivery {
        while true {
            do {
                return try produce(record)
            } catch let error as KafkaError where error.code == .queueFull {
                await deliveries.waitForCapacity()
            }
        }
    }

    /// Sends one record and returns where the broker stored it.
    public func send(_ record: ProducerRecord) async throws -> RecordPosition {
        try await enqueue(record).position()
    }

    /// Waits until every record handed over so far is acknowledged or failed.
    public func flush(timeoutMs: Int? = nil) async throws {
        let timeout = Int32(timeoutMs ?? configuration.connection.timeoutMs)
        let err = await BlockingCalls.run { [client] in client.withHandle { rd_kafka_flush($0, timeout) } }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError.rd(err, "\(deliveries.inFlight) records were not acknowledged in \(timeout) ms")
        }
    }

    /// Flushes (bounded by the connection timeout), fails whatever is still in flight, and stops polling.
    public func close() async {
        try? await flush()
        if deliveries.inFlight > 0 {
            client.withHandle { _ = rd_kafka_purge($0, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)) }
            try? await flush(timeoutMs: 1000)
        }
        await poller.stop(wake: client.wakeMainQueue)
        deliveries.failAll(KafkaError(.closed, "the producer closed before the broker acknowledged the record"))
    }

    /// Records handed over and not yet acknowledged.
    public var inFlight: Int { deliveries.inFlight }

    private static func makeHeaders(_ headers: [KafkaHeader]) -> OpaquePointer {
        let list = rd_kafka_headers_new(headers.count)!
        for header in headers {
            withOptionalBytes(header.value) { value, length in
                _ = rd_kafka_header_add(list, header.name, -1, value, length)
            }
        }
        return list
    }

    private static func deliveryResults(_ event: OpaquePointer) -> [(
        id: Int, result: Result<RecordPosition, KafkaError>
    )] {
        var results: [(id: Int, result: Result<RecordPosition, KafkaError>)] = []
        results.reserveCapacity(rd_kafka_event_message_count(event))
        while let message = rd_kafka_event_message_next(event) {
            let id = Int(bitPattern: message.pointee._private)
            let topic = String(cString: rd_kafka_topic_name(message.pointee.rkt))
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                let position = RecordPosition(
                    topic: topic, partition: message.pointee.partition, offset: message.pointee.offset)
                results.append((id, .success(position)))
            } else {
                results.append((id, .failure(KafkaError.rd(message.pointee.err, "delivery to \(topic) failed"))))
            }
        }
        return results
    }
}

/// Calls `body` with a pointer and length for `bytes`, or nil and 0 when `bytes` is nil. An empty array
/// gets a non-nil pointer, because Kafka tells an empty value from a null one (a tombstone).
func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawPointer?, Int) -> R) -> R {
    guard let bytes else { return body(nil, 0) }
    if bytes.isEmpty { return withUnsafeBytes(of: UInt8(0)) { body($0.baseAddress, 0) } }
    return bytes.withUnsafeBytes { body($0.baseAddress, $0.count) }
}
