import Foundation

/// An invocation request as it travels on `sluice.invocations`: the original key and value, Sluice's
/// headers, and the original record's other headers passed through.
public struct InvocationRequest: Sendable {
    public var invocationID: String
    public var function: String
    /// The function's alias to run (nil: `live`).
    public var alias: String?
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
    /// When the request was written (`sluice-enqueued-at`, ms since the epoch), when read back.
    public var enqueuedAtMs: Int64?
    /// The invocations partition the request was first read from, carried on its retry records
    /// (`sluice-held-partition`): later records of its key there wait for its retry chain.
    public var heldPartition: Int32?

    public init(
        invocationID: String, function: String, attempt: Int = 1, trigger: String, triggerTopic: String? = nil,
        triggerPartition: Int32? = nil,
        triggerOffset: Int64? = nil, key: [UInt8]?, value: [UInt8]?, traceParent: TraceParent,
        passthroughHeaders: [KafkaHeader] = []
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

    /// A fresh random id (for `sluice invoke`).
    public static func randomID() -> String {
        "inv_" + Hex.random(bytes: 12)
    }

    /// Headers of an original record that travel with its invocations.
    public static func passthrough(_ headers: [KafkaHeader]) -> [KafkaHeader] {
        headers.filter { !$0.name.hasPrefix("sluice-") && $0.name != TraceParent.headerName }
    }

    /// The record for `sluice.invocations`. Keyed by the original key, so one key's invocations share a
    /// partition and keep their order; keyless records are keyed by invocation id.
    public func producerRecord(topic: String) -> ProducerRecord {
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
        if let triggerTimestampMs {
            headers.append(KafkaHeader(name: SluiceHeader.triggerTimestamp, string: String(triggerTimestampMs)))
        }
        if let replayOf { headers.append(KafkaHeader(name: SluiceHeader.replayOf, string: replayOf)) }
        if let alias { headers.append(KafkaHeader(name: SluiceHeader.alias, string: alias)) }
        if let origin { headers += origin.headers }
        if let firstFailure { headers.append(KafkaHeader(name: SluiceHeader.firstFailure, string: firstFailure)) }
        if let heldPartition {
            headers.append(KafkaHeader(name: SluiceHeader.heldPartition, string: String(heldPartition)))
        }
        return ProducerRecord(
            topic: topic, key: key ?? Array(invocationID.utf8), value: value, headers: headers + passthroughHeaders)
    }

    /// Reads a request back; nil with a reason when Sluice's headers are missing or malformed.
    public static func decode(_ record: ConsumerRecord) -> Result<InvocationRequest, RequestDecodingError> {
        func text(_ name: String) -> String? { record.headerText(name) }
        guard let id = text(SluiceHeader.invocationID), !id.isEmpty else {
            return .failure(.init("missing header \(SluiceHeader.invocationID)"))
        }
        guard RecordBounds.isValidInvocationID(id) else {
            return .failure(
                .init("header \(SluiceHeader.invocationID) is not 1 to 128 letters, digits, '_', '-', '.' or ':'"))
        }
        guard let function = text(SluiceHeader.function), !function.isEmpty else {
            return .failure(.init("missing header \(SluiceHeader.function)"))
        }
        guard RecordBounds.isValidFunctionName(function) else {
            return .failure(.init("header \(SluiceHeader.function) is not a function name"))
        }
        let attempt: Int
        if record.header(SluiceHeader.attempt) == nil {
            attempt = 1
        } else if let number = record.headerNumber(SluiceHeader.attempt, in: RecordBounds.attempt) {
            attempt = Int(number)
        } else {
            return .failure(.init("header \(SluiceHeader.attempt) is not a number from 1 to 1000"))
        }
        let alias = text(SluiceHeader.alias)
        if let alias, !RecordBounds.isValidAlias(alias) {
            return .failure(.init("header \(SluiceHeader.alias) is not an alias name (1 to 32 of a-z, 0-9, '-')"))
        }
        let trace = text(TraceParent.headerName).flatMap(TraceParent.init(header:)) ?? TraceParent.start()
        let ownKey = record.key == Array(id.utf8)
        var request = InvocationRequest(
            invocationID: id, function: function, attempt: attempt, trigger: text(SluiceHeader.trigger) ?? "kafka",
            triggerTopic: text(SluiceHeader.triggerTopic),
            triggerPartition: record.headerNumber(SluiceHeader.triggerPartition, in: RecordBounds.partition).map {
                Int32($0)
            },
            triggerOffset: record.headerNumber(SluiceHeader.triggerOffset, in: RecordBounds.offset),
            key: ownKey ? nil : record.key,
            value: record.value,
            traceParent: trace, passthroughHeaders: passthrough(record.headers))
        request.triggerTimestampMs = record.headerNumber(SluiceHeader.triggerTimestamp, in: RecordBounds.epochMs)
        request.enqueuedAtMs = record.headerNumber(SluiceHeader.enqueuedAt, in: RecordBounds.epochMs)
        request.firstFailure = text(SluiceHeader.firstFailure)
        request.replayOf = text(SluiceHeader.replayOf)
        request.alias = alias
        request.heldPartition = record.headerNumber(SluiceHeader.heldPartition, in: RecordBounds.partition).map {
            Int32($0)
        }
        if let origin = Origin(headersOf: record) {
            request.origin = origin
        } else if let topic = request.triggerTopic, let partition = request.triggerPartition,
            let offset = request.triggerOffset
        {
            request.origin = Origin(
                topic: topic, partition: partition, offset: offset,
                timestampMs: request.triggerTimestampMs ?? record.timestampMs)
        } else {
            request.origin = Origin(
                topic: record.topic, partition: record.partition, offset: record.offset, timestampMs: record.timestampMs
            )
        }
        return .success(request)
    }
}

/// An invocation request that cannot be read.
public struct RequestDecodingError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
