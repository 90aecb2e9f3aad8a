import Crypto
import Foundation
import SluiceKafka
import SluiceSupport

/// Header names Sluice sets on invocation requests, results and logs (docs/architecture.md).
public enum SluiceHeader {
    public static let invocationID = "sluice-invocation-id"
    public static let function = "sluice-function"
    public static let attempt = "sluice-attempt"
    /// `kafka` (from a trigger topic via the router) or `invoke` (`sluice invoke`).
    public static let trigger = "sluice-trigger"
    public static let triggerTopic = "sluice-trigger-topic"
    public static let triggerPartition = "sluice-trigger-partition"
    public static let triggerOffset = "sluice-trigger-offset"
    public static let enqueuedAt = "sluice-enqueued-at"
    /// Timestamp (ms since the epoch) of the trigger record, set by the router.
    public static let triggerTimestamp = "sluice-trigger-timestamp"
    /// Where the record that started it all was: the trigger record, or the first invocation request.
    public static let originTopic = "sluice-origin-topic"
    public static let originPartition = "sluice-origin-partition"
    public static let originOffset = "sluice-origin-offset"
    /// Milliseconds since the epoch.
    public static let originTimestamp = "sluice-origin-timestamp"
    /// On retry records: when the next attempt is due (ms since the epoch).
    public static let retryDue = "sluice-retry-due"
    /// RFC 3339 times of the first and the latest failed attempt.
    public static let firstFailure = "sluice-first-failure"
    public static let lastFailure = "sluice-last-failure"
    public static let errorClass = "sluice-error-class"
    /// The latest error message (bounded).
    public static let error = "sluice-error"
    /// On a replayed request: the dead letter it replays, `topic/partition@offset`.
    public static let replayOf = "sluice-replay-of"
    /// On results: the status, and whether it is the invocation's last word (`true`) or a retry follows.
    public static let status = "sluice-status"
    public static let final = "sluice-final"
}

/// Where a request's chain of attempts began.
public struct Origin: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// Milliseconds since the epoch (-1: unknown).
    public var timestampMs: Int64

    public init(topic: String, partition: Int32, offset: Int64, timestampMs: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestampMs = timestampMs
    }

    public var headers: [KafkaHeader] {
        [
            KafkaHeader(name: SluiceHeader.originTopic, string: topic),
            KafkaHeader(name: SluiceHeader.originPartition, string: String(partition)),
            KafkaHeader(name: SluiceHeader.originOffset, string: String(offset)),
            KafkaHeader(name: SluiceHeader.originTimestamp, string: String(timestampMs)),
        ]
    }
}

/// An invocation request as it travels on `sluice.invocations`: the original key and value, Sluice's
/// headers, and the original record's other headers passed through.
public struct InvocationRequest: Sendable {
    public static let topic = "sluice.invocations"

    public var invocationID: String
    public var function: String
    public var attempt: Int
    public var trigger: String
    public var triggerTopic: String?
    public var triggerPartition: Int32?
    public var triggerOffset: Int64?
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var traceParent: TraceParent
    /// Headers of the original record other than Sluice's own and `traceparent`.
    public var passthroughHeaders: [KafkaHeader]
    /// Set when read back: the trigger record, else the first request. Carried on retry records.
    public var origin: Origin?
    /// Timestamp of the trigger record (router-made requests).
    public var triggerTimestampMs: Int64?
    /// The time of the first failed attempt (retry records).
    public var firstFailure: String?
    /// The dead letter this request replays.
    public var replayOf: String?

    public init(
        invocationID: String, function: String, attempt: Int = 1, trigger: String, triggerTopic: String? = nil, triggerPartition: Int32? = nil,
        triggerOffset: Int64? = nil, key: [UInt8]?, value: [UInt8]?, traceParent: TraceParent, passthroughHeaders: [KafkaHeader] = []
    ) {
        self.invocationID = invocationID
        self.function = function
        self.attempt = attempt
        self.trigger = trigger
        self.triggerTopic = triggerTopic
        self.triggerPartition = triggerPartition
        self.triggerOffset = triggerOffset
        self.key = key
        self.value = value
        self.traceParent = traceParent
        self.passthroughHeaders = passthroughHeaders
    }

    /// The deterministic id of the invocation of `function` for one trigger record: a router that
    /// crashes and reads the record again produces the same id.
    public static func derivedID(topic: String, partition: Int32, offset: Int64, function: String) -> String {
        let digest = SHA256.hash(data: Data("\(topic)\u{0}\(partition)\u{0}\(offset)\u{0}\(function)".utf8))
        return "inv_" + Hex.encode(digest.prefix(12))
    }

    /// A fresh random id (for `sluice invoke`).
    public static func randomID() -> String {
        "inv_" + Hex.encode((0..<12).map { _ in UInt8.random(in: 0...255) })
    }

    /// Headers of an original record that travel with its invocations.
    public static func passthrough(_ headers: [KafkaHeader]) -> [KafkaHeader] {
        headers.filter { !$0.name.hasPrefix("sluice-") && $0.name != TraceParent.headerName }
    }

    /// The record for `sluice.invocations`. Keyed by the original key, so one key's invocations share a
    /// partition and keep their order; keyless records are keyed by invocation id.
    public func producerRecord(topic: String = InvocationRequest.topic) -> ProducerRecord {
        var headers = [
            KafkaHeader(name: SluiceHeader.invocationID, string: invocationID),
            KafkaHeader(name: SluiceHeader.function, string: function),
            KafkaHeader(name: SluiceHeader.attempt, string: String(attempt)),
            KafkaHeader(name: SluiceHeader.trigger, string: trigger),
            KafkaHeader(name: SluiceHeader.enqueuedAt, string: String(Int64(Date().timeIntervalSince1970 * 1000))),
            traceParent.header,
        ]
        if let triggerTopic, let triggerPartition, let triggerOffset {
            headers += [
                KafkaHeader(name: SluiceHeader.triggerTopic, string: triggerTopic),
                KafkaHeader(name: SluiceHeader.triggerPartition, string: String(triggerPartition)),
                KafkaHeader(name: SluiceHeader.triggerOffset, string: String(triggerOffset)),
            ]
        }
        if let triggerTimestampMs { headers.append(KafkaHeader(name: SluiceHeader.triggerTimestamp, string: String(triggerTimestampMs))) }
        if let replayOf { headers.append(KafkaHeader(name: SluiceHeader.replayOf, string: replayOf)) }
        if let origin { headers += origin.headers }
        if let firstFailure { headers.append(KafkaHeader(name: SluiceHeader.firstFailure, string: firstFailure)) }
        return ProducerRecord(topic: topic, key: key ?? Array(invocationID.utf8), value: value, headers: headers + passthroughHeaders)
    }

    /// Reads a request back; nil with a reason when Sluice's headers are missing or malformed.
    public static func decode(_ record: ConsumerRecord) -> Result<InvocationRequest, RequestDecodingError> {
        func text(_ name: String) -> String? { record.header(name).map { String(decoding: $0, as: UTF8.self) } }
        guard let id = text(SluiceHeader.invocationID), !id.isEmpty else { return .failure(.init("missing header \(SluiceHeader.invocationID)")) }
        guard let function = text(SluiceHeader.function), !function.isEmpty else { return .failure(.init("missing header \(SluiceHeader.function)")) }
        let attempt = text(SluiceHeader.attempt).flatMap(Int.init) ?? 1
        let trace = text(TraceParent.headerName).flatMap(TraceParent.init(header:)) ?? TraceParent.start()
        let ownKey = record.key == Array(id.utf8)
        var request = InvocationRequest(
            invocationID: id, function: function, attempt: attempt, trigger: text(SluiceHeader.trigger) ?? "kafka",
            triggerTopic: text(SluiceHeader.triggerTopic), triggerPartition: text(SluiceHeader.triggerPartition).flatMap(Int32.init),
            triggerOffset: text(SluiceHeader.triggerOffset).flatMap(Int64.init), key: ownKey ? nil : record.key, value: record.value,
            traceParent: trace, passthroughHeaders: passthrough(record.headers))
        request.triggerTimestampMs = text(SluiceHeader.triggerTimestamp).flatMap(Int64.init)
        request.firstFailure = text(SluiceHeader.firstFailure)
        request.replayOf = text(SluiceHeader.replayOf)
        if let topic = text(SluiceHeader.originTopic), let partition = text(SluiceHeader.originPartition).flatMap(Int32.init),
            let offset = text(SluiceHeader.originOffset).flatMap(Int64.init)
        {
            request.origin = Origin(topic: topic, partition: partition, offset: offset, timestampMs: text(SluiceHeader.originTimestamp).flatMap(Int64.init) ?? -1)
        } else if let topic = request.triggerTopic, let partition = request.triggerPartition, let offset = request.triggerOffset {
            request.origin = Origin(topic: topic, partition: partition, offset: offset, timestampMs: request.triggerTimestampMs ?? record.timestampMs)
        } else {
            request.origin = Origin(topic: record.topic, partition: record.partition, offset: record.offset, timestampMs: record.timestampMs)
        }
        return .success(request)
    }
}

/// An invocation request that cannot be read.
public struct RequestDecodingError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
