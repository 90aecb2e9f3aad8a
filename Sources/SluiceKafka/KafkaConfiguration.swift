import Foundation
import SluiceRecords

/// Where and how a client reaches Kafka; shared by producers, consumers and admin clients.
public struct KafkaConnection: Sendable, Hashable {
    /// `host:port` pairs.
    public var brokers: [String]
    public var clientID: String
    /// How long an operation that needs the cluster may wait for it.
    public var timeoutMs: Int
    /// Extra librdkafka properties (CONFIGURATION.md names); they win over Sluice's defaults.
    public var properties: [String: String]

    public init(
        brokers: [String], clientID: String = "sluice", timeoutMs: Int = 10_000, properties: [String: String] = [:]
    ) {
        self.brokers = brokers
        self.clientID = clientID
        self.timeoutMs = timeoutMs
        self.properties = properties
    }

    /// Parses `host:port[,host:port…]`.
    public init(brokerList: String, clientID: String = "sluice", timeoutMs: Int = 10_000) {
        self.init(
            brokers: brokerList.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) },
            clientID: clientID, timeoutMs: timeoutMs)
    }

    public var brokerList: String { brokers.joined(separator: ",") }

    /// librdkafka's own debug contexts (`SLUICE_RDKAFKA_DEBUG=fetch,msg`…), logged at debug level
    /// (`SLUICE_LOG_LEVEL=debug`): for finding where a client waits.
    static let debugContexts = ProcessInfo.processInfo.environment["SLUICE_RDKAFKA_DEBUG"].flatMap {
        $0.isEmpty ? nil : $0
    }

    var baseProperties: [String: String] {
        var properties = [
            "bootstrap.servers": brokerList,
            "client.id": clientID,
            "log.queue": "true",
            "socket.timeout.ms": String(max(timeoutMs, 1000)),
            "topic.metadata.refresh.interval.ms": "10000",
            "reconnect.backoff.ms": "50",
            "reconnect.backoff.max.ms": "1000",
        ]
        if let contexts = Self.debugContexts { properties["debug"] = contexts }
        return properties
    }
}

/// Producer settings. Idempotence is on by default; batching and compression are tunable.
public struct ProducerConfiguration: Sendable {
    public enum Compression: String, Sendable, CaseIterable { case none, lz4, gzip, snappy, zstd }
    public var connection: KafkaConnection
    public var idempotent: Bool = true
    public var compression: Compression = .lz4
    /// How long records wait to form a batch.
    public var lingerMs: Int = 5
    /// Largest number of records in one batch.
    public var batchRecords: Int = 10_000
    /// How long a record may wait for acknowledgement before its delivery fails.
    public var deliveryTimeoutMs: Int = 30_000
    /// Records waiting in the client before `enqueue` waits for acknowledgements (backpressure).
    public var maxBufferedRecords: Int = 100_000

    /// Requests in flight per broker connection; nil: librdkafka's default (5 with idempotence).
    public var maxInFlight: Int?

    public init(connection: KafkaConnection) {
        self.connection = connection
    }

    /// For a producer that sends a few records and closes (a deploy, `sluice invoke`): not idempotent,
    /// since a new idempotent producer's first send waits about 0.85 s for its producer id, and one
    /// request in flight, so that records keep their order when retried. A retry may write a record
    /// twice: callers send only records for which that is harmless (the same key and value on a
    /// compacted topic, a request whose invocation id workers run once).
    public static func shortLived(connection: KafkaConnection) -> ProducerConfiguration {
        var configuration = ProducerConfiguration(connection: connection)
        configuration.idempotent = false
        configuration.maxInFlight = 1
        return configuration
    }

    var properties: [String: String] {
        var props = connection.baseProperties
        props["enable.idempotence"] = idempotent ? "true" : "false"
        if let maxInFlight { props["max.in.flight.requests.per.connection"] = String(maxInFlight) }
        props["compression.type"] = compression.rawValue
        props["linger.ms"] = String(lingerMs)
        props["batch.num.messages"] = String(batchRecords)
        props["message.timeout.ms"] = String(deliveryTimeoutMs)
        props["queue.buffering.max.messages"] = String(maxBufferedRecords)
        props["message.max.bytes"] = "1048576"
        return props.merging(connection.properties) { _, override in override }
    }
}

/// Consumer settings. Offsets are never committed automatically: callers commit what they finished.
public struct ConsumerConfiguration: Sendable {
    public enum OffsetReset: String, Sendable { case earliest, latest }
    public var connection: KafkaConnection
    /// Consumer group; `nil` for a consumer that only uses `assign` and commits nothing.
    public var groupID: String?
    /// Where a partition without a committed offset starts.
    public var offsetReset: OffsetReset = .earliest
    /// Records held for the caller before the consumer pauses fetching (backpressure).
    public var bufferCapacity: Int = 10_000
    /// …and at most this many bytes of them (keys, values, headers): a count alone does not bound memory.
    public var bufferBytes: Int = 64 << 20
    public var sessionTimeoutMs: Int = 6_000
    /// Also the time a rebalance may take; librdkafka's 300 s default stalls joins (docs/architecture.md).
    public var maxPollIntervalMs: Int = 10_000
    /// When above 0, a revocation waits (up to this long, holding the rebalance) until the reader calls
    /// `acknowledgeRevocation`: time to finish and commit the running work of the revoked partitions, so
    /// their next owner does not run it again. Keep it under `maxPollIntervalMs`, the group's limit for a
    /// member to rejoin.
    public var revocationGraceMs: Int = 0
    /// Called on the poll thread when partitions are revoked, before the `.revoked` event is queued (and
    /// so before the reader sees it): e.g. to stop records of them that have not started at once, while
    /// the reader may still be busy with earlier records.
    public var onRevoke: (@Sendable ([TopicPartition]) -> Void)?
    /// Deliver an end-of-partition event when a partition is caught up.
    public var reportPartitionEOF: Bool = false
    /// How long the broker may hold a fetch with no new records: low for latency, higher for consumers
    /// where a few hundred milliseconds do not matter (each empty fetch costs the broker CPU).
    public var fetchWaitMaxMs: Int = 10

    public init(connection: KafkaConnection, groupID: String? = nil) {
        self.connection = connection
        self.groupID = groupID
    }

    var properties: [String: String] {
        var props = connection.baseProperties
        // librdkafka 2.x refuses assign() without a group.id; a group-less consumer gets a private one that
        // it never joins or commits to.
        props["group.id"] = groupID ?? "sluice-unjoined-\(UInt64.random(in: 0...UInt64.max))"
        props["enable.auto.commit"] = "false"
        props["enable.auto.offset.store"] = "false"
        props["auto.offset.reset"] = offsetReset.rawValue
        props["session.timeout.ms"] = String(sessionTimeoutMs)
        props["heartbeat.interval.ms"] = String(max(sessionTimeoutMs / 3, 100))
        props["max.poll.interval.ms"] = String(maxPollIntervalMs)
        props["enable.partition.eof"] = reportPartitionEOF ? "true" : "false"
        props["allow.auto.create.topics"] = "false"
        props["fetch.wait.max.ms"] = String(fetchWaitMaxMs)
        props["queued.max.messages.kbytes"] = "16384"
        // After a pause for backpressure, fetch again soon (librdkafka waits 1 s by default).
        props["fetch.queue.backoff.ms"] = "10"
        return props.merging(connection.properties) { _, override in override }
    }
}
