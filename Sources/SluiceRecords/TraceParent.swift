/// W3C trace context (`traceparent`), carried in Kafka headers from publish to result.
public struct TraceParent: Sendable, Hashable, CustomStringConvertible {
    public static let headerName = "traceparent"

    public let traceID: String
    public let parentID: String
    public let flags: String

    /// A new trace with a random trace id and span id, sampled.
    public static func start() -> TraceParent {
        TraceParent(traceID: Hex.random(bytes: 16), parentID: Hex.random(bytes: 8), flags: "01")
    }

    /// Parses `00-<32 hex>-<16 hex>-<2 hex>`; nil when malformed or all-zero ids.
    public init?(header: String) {
        let parts = header.split(separator: "-")
        guard parts.count == 4, parts[0] == "00", parts[1].count == 32, parts[2].count == 16, parts[3].count == 2,
            parts.allSatisfy({ $0.allSatisfy(\.isHexDigit) }),
            parts[1].contains(where: { $0 != "0" }), parts[2].contains(where: { $0 != "0" })
        else { return nil }
        self.init(
            traceID: String(parts[1]).lowercased(), parentID: String(parts[2]).lowercased(), flags: String(parts[3]))
    }

    init(traceID: String, parentID: String, flags: String) {
        self.traceID = traceID
        self.parentID = parentID
        self.flags = flags
    }

    /// The same trace with a new span id (this hop's span).
    public func child() -> TraceParent {
        TraceParent(traceID: traceID, parentID: Hex.random(bytes: 8), flags: flags)
    }

    public var description: String { "00-\(traceID)-\(parentID)-\(flags)" }

    public var header: KafkaHeader { KafkaHeader(name: Self.headerName, string: description) }
}
