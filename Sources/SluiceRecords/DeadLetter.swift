import Foundation

/// A record on the dead-letter topic: the original key and value unchanged, with headers saying where it
/// came from, what ran it, how often and why it failed (docs/architecture.md, "Dead letters").
public struct DeadLetter: Sendable {
    public enum Header {
        public static let functionVersion = "sluice-function-version"
        public static let attempts = "sluice-attempts"
        public static let stderrTail = "sluice-stderr-tail"
        public static let worker = "sluice-worker"
        /// Why it was not retried: `attempts_exhausted`, `not_retryable`, `class_not_retried`,
        /// `record_too_old` or `rejected`.
        public static let reason = "sluice-dlq-reason"
    }

    public enum Reason: String, Sendable, CaseIterable {
        case attemptsExhausted = "attempts_exhausted"
        case notRetryable = "not_retryable"
        case classNotRetried = "class_not_retried"
        case recordTooOld = "record_too_old"
        case rejected
    }

    /// Bounds of the text headers.
    public static let maxErrorBytes = 2048
    public static let maxStderrBytes = 4096

    public var position: RecordPosition?
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var origin: Origin?
    public var function: String
    public var functionVersion: Int
    public var invocationID: String
    public var attempts: Int
    public var errorClass: ErrorClass
    public var error: String
    public var stderrTail: String
    public var firstFailure: String
    public var lastFailure: String
    public var worker: String
    public var reason: Reason
    public var traceParent: TraceParent?
    /// The original record's own headers.
    public var passthroughHeaders: [KafkaHeader] = []
    /// The alias the invocation ran (nil: `live`); a replay runs the same alias.
    public var alias: String?

    public init(
        key: [UInt8]?, value: [UInt8]?, origin: Origin?, function: String, functionVersion: Int, invocationID: String,
        attempts: Int,
        errorClass: ErrorClass, error: String, stderrTail: String, firstFailure: String, lastFailure: String,
        worker: String, reason: Reason,
        traceParent: TraceParent?
    ) {
        self.key = key
        self.value = value
        self.origin = origin
        self.function = function
        self.functionVersion = functionVersion
        self.invocationID = invocationID
        self.attempts = attempts
        self.errorClass = errorClass
        self.error = error
        self.stderrTail = stderrTail
        self.firstFailure = firstFailure
        self.lastFailure = lastFailure
        self.worker = worker
        self.reason = reason
        self.traceParent = traceParent
    }

    /// The record to produce, within `RecordBudget.bytes`.
    public func producerRecord(topic: String) -> ProducerRecord {
        var headers = origin?.headers ?? []
        headers += [
            KafkaHeader(name: SluiceHeader.function, string: function),
            KafkaHeader(name: Header.functionVersion, string: String(functionVersion)),
            KafkaHeader(name: SluiceHeader.invocationID, string: invocationID),
            KafkaHeader(name: Header.attempts, string: String(attempts)),
            KafkaHeader(name: SluiceHeader.errorClass, string: errorClass.rawValue),
            KafkaHeader(name: SluiceHeader.error, string: Self.bounded(error, Self.maxErrorBytes)),
            KafkaHeader(name: Header.stderrTail, string: Self.bounded(stderrTail, Self.maxStderrBytes, keepEnd: true)),
            KafkaHeader(name: SluiceHeader.firstFailure, string: firstFailure),
            KafkaHeader(name: SluiceHeader.lastFailure, string: lastFailure),
            KafkaHeader(name: Header.worker, string: worker),
            KafkaHeader(name: Header.reason, string: reason.rawValue),
        ]
        if let traceParent { headers.append(traceParent.header) }
        if let alias { headers.append(KafkaHeader(name: SluiceHeader.alias, string: alias)) }
        // The original value and headers may have filled a record on their own: fitted, the dead letter
        // keeps its provenance and says what was left out.
        return ProducerRecord(topic: topic, key: key, value: value, headers: headers + passthroughHeaders).fitted()
    }

    /// Reads a dead letter back; nil when the record lacks Sluice's dead-letter headers.
    public init?(_ record: ConsumerRecord) {
        func text(_ name: String) -> String? { record.headerText(name) }
        guard let function = text(SluiceHeader.function), let id = text(SluiceHeader.invocationID),
            let errorClass = text(SluiceHeader.errorClass).flatMap(ErrorClass.init(rawValue:))
        else { return nil }
        self.init(
            key: record.key, value: record.value, origin: nil, function: function,
            functionVersion: Int(record.headerNumber(Header.functionVersion, in: RecordBounds.version) ?? 0),
            invocationID: id, attempts: Int(record.headerNumber(Header.attempts, in: RecordBounds.attempt) ?? 0),
            errorClass: errorClass,
            error: text(SluiceHeader.error) ?? "",
            stderrTail: text(Header.stderrTail) ?? "", firstFailure: text(SluiceHeader.firstFailure) ?? "",
            lastFailure: text(SluiceHeader.lastFailure) ?? "", worker: text(Header.worker) ?? "",
            reason: text(Header.reason).flatMap(Reason.init(rawValue:)) ?? .attemptsExhausted,
            traceParent: text(TraceParent.headerName).flatMap(TraceParent.init(header:)))
        position = RecordPosition(topic: record.topic, partition: record.partition, offset: record.offset)
        origin = Origin(headersOf: record)
        passthroughHeaders = InvocationRequest.passthrough(record.headers)
        alias = text(SluiceHeader.alias).flatMap { RecordBounds.isValidAlias($0) ? $0 : nil }
    }

    /// When it failed last (from `sluice-last-failure`).
    public var lastFailureDate: Date? { Timestamp.parse(lastFailure) }

    /// At most `limit` bytes of UTF-8, cut at a character boundary (the end kept for tails).
    public static func bounded(_ text: String, _ limit: Int, keepEnd: Bool = false) -> String {
        guard text.utf8.count > limit else { return text }
        var result = ""
        var size = 0
        for character in keepEnd ? Array(text.reversed()) : Array(text) {
            size += character.utf8.count
            if size > limit - 3 { break }
            result.append(character)
        }
        return keepEnd ? "…" + String(result.reversed()) : result + "…"
    }
}
