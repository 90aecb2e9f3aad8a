import Foundation
import SluiceRecords
import SluiceSupport

/// What `sluice publish` writes: records for one topic with a key, headers and partition of the
/// person's choosing, each with a W3C traceparent (a new trace) unless one was given.
public struct TopicPublisher: Sendable {
    public let topic: String
    public let key: [UInt8]?
    public let partition: Int32?
    public let headers: [KafkaHeader]

    /// - Parameter headers: `name=value` each (the value may contain `=`); nil when one has no `=`.
    public init?(topic: String, key: String?, partition: Int32?, headers: [String]) {
        var parsed: [KafkaHeader] = []
        for header in headers {
            let parts = header.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { return nil }
            parsed.append(KafkaHeader(name: String(parts[0]), string: String(parts[1])))
        }
        self.topic = topic
        self.key = key.map { Array($0.utf8) }
        self.partition = partition
        self.headers = parsed
    }

    /// The record of `value`: the chosen headers, plus a new trace unless they hold a `traceparent`.
    public func record(_ value: [UInt8]) -> ProducerRecord {
        let traced = headers.contains { $0.name == TraceParent.headerName }
        return ProducerRecord(
            topic: topic, partition: partition, key: key, value: value,
            headers: traced ? headers : headers + [TraceParent.start().header])
    }

    /// Makes sure the topic exists: creates it (1 partition) when `create`, else throws a `KafkaError`
    /// (`unknownTopic`) that says how to define it.
    public func ensureTopic(connection: KafkaConnection, create: Bool) async throws {
        try await KafkaAdmin.with(connection) { admin in
            guard try await admin.topic(topic) == nil else { return }
            guard create else {
                throw KafkaError(
                    .unknownTopic,
                    "topic \(topic) does not exist on \(connection.brokerList). Define it in Topics/ and run `sluice topics apply`, or pass --create."
                )
            }
            _ = try await admin.createTopics([NewTopic(name: topic, partitions: 1)])
        }
    }

    /// Runs `body` with a producer that waits for acknowledgements at least the connection's timeout;
    /// closed when it returns or throws.
    public static func withProducer<T: Sendable>(connection: KafkaConnection, _ body: (KafkaProducer) async throws -> T)
        async throws -> T
    {
        var configuration = ProducerConfiguration(connection: connection)
        configuration.deliveryTimeoutMs = max(connection.timeoutMs, 1000)
        let producer = try KafkaProducer.make(configuration)
        return try await closing(close: producer.close) { try await body(producer) }
    }
}
