import Crypto
import Foundation
import SluiceKafka

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
        return "inv_" + digest.prefix(12).map { String(format: "%02x", $0) }.joined()
    }

    /// A fresh random id (for `sluice invoke`).
    public static func randomID() -> String {
        "inv_" + (0..<12).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
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
        return .success(InvocationRequest(
            invocationID: id, function: function, attempt: attempt, trigger: text(SluiceHeader.trigger) ?? "kafka",
            triggerTopic: text(SluiceHeader.triggerTopic), triggerPartition: text(SluiceHeader.triggerPartition).flatMap(Int32.init),
            triggerOffset: text(SluiceHeader.triggerOffset).flatMap(Int64.init), key: ownKey ? nil : record.key, value: record.value,
            traceParent: trace, passthroughHeaders: passthrough(record.headers)))
    }
}

/// An invocation request that cannot be read.
public struct RequestDecodingError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
