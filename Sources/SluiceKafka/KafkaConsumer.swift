import CRdKafka
import Foundation
import Logging
import SluiceRecords
import SluiceSupport
import Synchronization

/// Reads records from Kafka, in a consumer group (`subscribe`) or from chosen partitions (`assign`).
///
/// A dedicated poll thread fetches into a bounded buffer read through `events`. Nothing is committed
/// unless the caller commits it: `commit` takes, per partition, the offset of the next record to read.
public final class KafkaConsumer: Sendable {
    let client: RDKafkaClient
    private let buffer: ConsumerEventBuffer
    private let control: PartitionControl
    private let poller: PollThread
    private let configuration: ConsumerConfiguration
    /// Topics whose leaders `assign` fetched.
    private let learned = Mutex<Set<String>>([])

    private init(
        client: RDKafkaClient, buffer: ConsumerEventBuffer, control: PartitionControl,
        configuration: ConsumerConfiguration
    ) {
        self.client = client
        self.buffer = buffer
        self.control = control
        self.configuration = configuration
        let seekTimeout = Int32(configuration.connection.timeoutMs)
        self.poller = PollThread(name: "sluice-consumer-poll") {
            control.applySeeks(client: client, timeoutMs: seekTimeout)
            Self.pollOnce(client: client, buffer: buffer, control: control)
        }
    }

    /// Creates a consumer. It fetches nothing until `subscribe` or `assign`.
    public static func make(_ configuration: ConsumerConfiguration, logger: Logger = Logger(label: "sluice.kafka"))
        throws -> KafkaConsumer
    {
        let buffer = ConsumerEventBuffer(
            capacity: configuration.bufferCapacity, byteCapacity: configuration.bufferBytes)
        let control = PartitionControl(
            buffer: buffer, revocationGrace: .milliseconds(configuration.revocationGraceMs),
            onRevoke: configuration.onRevoke, logger: logger)
        let client = try RDKafkaClient.make(
            kind: .consumer, properties: configuration.properties, events: 0, logger: logger
        ) { conf in
            rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(control).toOpaque())
            rd_kafka_conf_set_rebalance_cb(conf, rebalanceCallback)
        }
        return KafkaConsumer(client: client, buffer: buffer, control: control, configuration: configuration)
    }

    deinit {
        poller.requestStop()
        buffer.finish()
    }

    /// Everything the consumer delivers. Read it from one task.
    public var events: ConsumerEvents { ConsumerEvents(buffer: buffer) }

    /// Joins the group and subscribes to `topics`; assignments arrive as `.assigned` events.
    public func subscribe(topics: [String]) throws {
        guard configuration.groupID != nil else {
            throw KafkaError(.configuration, "subscribe needs a consumer group; use assign without one")
        }
        let err = TopicPartitionList.with(
            topics.map { TopicPartitionOffset(TopicPartition($0, RD_KAFKA_PARTITION_UA), offset: 0) }
        ) {
            list in client.withHandle { rd_kafka_subscribe($0, list) }
        }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError.rd(err, "cannot subscribe to \(topics.joined(separator: ","))")
        }
    }

    /// Reads exactly these partitions from these offsets (`TopicPartitionOffset.beginning`/`.end` allowed).
    /// The partitions' leaders are fetched first (once per topic, off the cooperative pool): a new client
    /// that looks up an offset, or fetches, before it knows them waits 500 ms for its retry.
    public func assign(_ partitions: [TopicPartitionOffset]) async throws {
        let topics = Set(partitions.map(\.topicPartition.topic))
        let unknown = learned.withLock { learned in
            defer { learned.formUnion(topics) }
            return topics.subtracting(learned)
        }
        if !unknown.isEmpty {
            let timeout = Int32(configuration.connection.timeoutMs)
            await BlockingCalls.run { [client] in client.learnLeaders(of: unknown, timeoutMs: timeout) }
        }
        let err = TopicPartitionList.with(partitions) { list in client.withHandle { rd_kafka_assign($0, list) } }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.rd(err, "cannot assign partitions") }
        control.setAssignment(Set(partitions.map(\.topicPartition)))
    }

    /// The partitions currently assigned to this consumer.
    public func assignment() throws -> [TopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let err = client.withHandle { rd_kafka_assignment($0, &list) }
        defer { if let list { rd_kafka_topic_partition_list_destroy(list) } }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.rd(err, "cannot read the assignment") }
        return TopicPartitionList.read(list).map(\.topicPartition).sorted()
    }

    /// The end offset of each partition as of its last fetch response (no request; nil before the first
    /// fetch). Correct on the embedded broker, whose ListOffsets is not.
    public func cachedEnds(_ partitions: [TopicPartition]) -> [TopicPartition: Int64] {
        client.withHandle { handle in
            var ends: [TopicPartition: Int64] = [:]
            for partition in partitions {
                var low: Int64 = -1
                var high: Int64 = -1
                if rd_kafka_get_watermark_offsets(handle, partition.topic, partition.partition, &low, &high)
                    == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0
                {
                    ends[partition] = high
                }
            }
            return ends
        }
    }

    /// Commits, per partition, the offset of the next record to read (last processed offset + 1).
    /// Commits `offsets` synchronously. The commit time goes along as the offsets' metadata
    /// (`t=<ms since the epoch>`), so lag tools can tell a group that commits the same offset from one
    /// that stopped committing.
    public func commit(_ offsets: [TopicPartitionOffset]) async throws {
        guard !offsets.isEmpty else { return }
        let metadata = "t=\(Int64(Date().timeIntervalSince1970 * 1000))"
        try await BlockingCalls.run { [client] in
            try TopicPartitionList.with(offsets, metadata: metadata) { list in
                let err = client.withHandle { rd_kafka_commit($0, list, 0) }
                if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.rd(err, "commit failed") }
                if let (partition, err) = TopicPartitionList.firstError(list) {
                    throw KafkaError.rd(err, "commit of \(partition) failed")
                }
            }
        }
    }

    /// The group's committed offsets for `partitions` (nil where nothing is committed).
    public func committed(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64?] {
        let timeout = Int32(configuration.connection.timeoutMs)
        return try await BlockingCalls.run { [client] in
            try TopicPartitionList.with(partitions.map { TopicPartitionOffset($0, offset: -1001) }) { list in
                let err = client.withHandle { rd_kafka_committed($0, list, timeout) }
                if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.rd(err, "cannot read committed offsets") }
                var result: [TopicPartition: Int64?] = [:]
                for entry in TopicPartitionList.read(list) {
                    result[entry.topicPartition] = entry.offset >= 0 ? entry.offset : nil
                }
                return result
            }
        }
    }

    /// The group's committed offsets with their commit times (from Sluice's `t=` metadata).
    public func committedWithTimes(_ partitions: [TopicPartition]) async throws -> [TopicPartition: CommittedOffset] {
        let timeout = Int32(configuration.connection.timeoutMs)
        return try await BlockingCalls.run { [client] in
            try TopicPartitionList.with(partitions.map { TopicPartitionOffset($0, offset: -1001) }) { list in
                let err = client.withHandle { rd_kafka_committed($0, list, timeout) }
                if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.rd(err, "cannot read committed offsets") }
                let metadata = TopicPartitionList.metadata(list)
                var result: [TopicPartition: CommittedOffset] = [:]
                for entry in TopicPartitionList.read(list) {
                    let time = metadata[entry.topicPartition].flatMap {
                        $0.hasPrefix("t=") ? Int64($0.dropFirst(2)) : nil
                    }
                    result[entry.topicPartition] = CommittedOffset(
                        offset: entry.offset >= 0 ? entry.offset : nil, committedAtMs: time)
                }
                return result
            }
        }
    }

    /// Stops fetching `partitions` until `resume`.
    public func pause(_ partitions: [TopicPartition]) throws {
        try control.userPause(Set(partitions), client: client)
    }

    /// Fetches `partitions` again after `pause`.
    public func resume(_ partitions: [TopicPartition]) throws {
        try control.userResume(Set(partitions), client: client)
    }

    /// Moves the read position of assigned partitions; records of them already buffered are dropped.
    /// (Done by the poll thread, so no record fetched from the new position can be dropped.)
    public func seek(_ positions: [TopicPartitionOffset]) async throws {
        try await control.seek(positions)
    }

    /// Leaves the group (revoking partitions) and ends `events`. Uncommitted work will be redelivered.
    ///
    /// Bounded: leaving the group gets the session timeout plus the connection timeout; a consumer that
    /// has not closed by then (a coordinator that does not answer) is given up on with a warning, and its
    /// partitions go to the others when its session expires on the broker.
    public func close() async {
        control.stopAwaitingRevocations()
        buffer.wake()
        await poller.stop()
        control.failPendingSeeks()
        let limitMs = configuration.sessionTimeoutMs + configuration.connection.timeoutMs
        let closed = await BlockingCalls.run { [client, control] in
            client.withHandle { Self.closeWithin(limitMs, handle: $0, control: control) }
        }
        if !closed {
            client.logger.warning(
                "the consumer did not leave its group within \(limitMs) ms; closing it anyway",
                metadata: ["group": "\(configuration.groupID ?? "")"])
        }
        buffer.finish()
    }

    /// Ends `events` for its reader (after what is buffered) while the consumer stays open for `commit`
    /// and `close`: the start of a graceful stop.
    public func finishEvents() {
        control.stopAwaitingRevocations()
        buffer.finish()
    }

    /// With `revocationGraceMs` set: the reader has finished with the partitions of the last `.revoked` event
    /// (their running work ended and was committed), so the rebalance may go on. Call once per event.
    public func acknowledgeRevocation() {
        control.acknowledgeRevocation()
    }

    /// Records fetched and not yet read by the caller.
    public var bufferedRecords: Int { buffer.bufferedRecords }

    private static func pollOnce(client: RDKafkaClient, buffer: ConsumerEventBuffer, control: PartitionControl) {
        control.applyBackpressure(client: client)
        while client.serveMainQueue(timeoutMs: 0) {}
        guard let message = client.withHandle({ rd_kafka_consumer_poll($0, 100) }) else { return }
        defer { rd_kafka_message_destroy(message) }
        let m = message.pointee
        let topic = m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        switch m.err {
        case RD_KAFKA_RESP_ERR_NO_ERROR:
            buffer.push(.record(Self.record(message, topic: topic)))
        case RD_KAFKA_RESP_ERR__PARTITION_EOF:
            buffer.push(.partitionEOF(TopicPartition(topic, m.partition), offset: m.offset))
        default:
            let context = topic.isEmpty ? "consumer" : "consumer of \(topic)/\(m.partition)"
            buffer.push(.error(KafkaError.rd(m.err, context)))
        }
    }

    private static func record(_ message: UnsafeMutablePointer<rd_kafka_message_t>, topic: String) -> ConsumerRecord {
        let m = message.pointee
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        return ConsumerRecord(
            topic: topic, partition: m.partition, offset: m.offset, timestampMs: timestamp,
            key: m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) },
            value: m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) },
            headers: headers(of: message))
    }

    private static func headers(of message: UnsafeMutablePointer<rd_kafka_message_t>) -> [KafkaHeader] {
        var list: OpaquePointer?
        guard rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return [] }
        var headers: [KafkaHeader] = []
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            headers.append(
                KafkaHeader(
                    name: name.map { String(cString: $0) } ?? "",
                    value: value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }))
            index += 1
        }
        return headers
    }
}

/// librdkafka's rebalance callback, the one C callback kept: it (un)assigns and records what happened.
private let rebalanceCallback:
    @convention(c) (
        OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
        UnsafeMutableRawPointer?
    ) -> Void = { handle, err, partitions, opaque in
        guard let handle, let opaque else { return }
        let control = Unmanaged<PartitionControl>.fromOpaque(opaque).takeUnretainedValue()
        control.rebalance(handle: handle, err: err, partitions: partitions)
    }
