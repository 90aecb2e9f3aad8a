extension ConsumerRecord {
    /// The first value of header `name` as UTF-8 text (invalid bytes replaced), nil when absent.
    public func headerText(_ name: String) -> String? {
        header(name).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether header `name` holds exactly `text`.
    public func header(_ name: String, is text: String) -> Bool {
        header(name).map { $0.elementsEqual(text.utf8) } ?? false
    }

    /// The record's key as UTF-8 text.
    public var keyText: String? { key.map { String(decoding: $0, as: UTF8.self) } }
}

extension ConsumerRecord {
    /// Header `name` as a whole number within `range`; nil when absent, not a number or out of range
    /// (every record is untrusted: a number out of range would trap in arithmetic later).
    public func headerNumber(_ name: String, in range: ClosedRange<Int64>) -> Int64? {
        guard let bytes = header(name), bytes.count <= 20, let value = Int64(String(decoding: bytes, as: UTF8.self)),
            range.contains(value)
        else { return nil }
        return value
    }
}

/// The ranges numbers in Sluice's headers and records must fall in.
public enum RecordBounds {
    /// Milliseconds since the epoch, up to the end of year 9999.
    public static let epochMs: ClosedRange<Int64> = 0...253_402_300_799_999
    public static let attempt: ClosedRange<Int64> = 1...1000
    public static let partition: ClosedRange<Int64> = 0...Int64(Int32.max)
    public static let offset: ClosedRange<Int64> = 0...(Int64.max >> 2)
    public static let version: ClosedRange<Int64> = 0...1_000_000_000
    /// A count in a load sample or decision (in flight, queued, processes).
    public static let count: ClosedRange<Int> = 0...1_000_000

    /// An invocation id: 1 to 128 letters, digits, '_', '-', '.' and ':' (it is a record key, a header,
    /// a file name in logs and part of the runtime's requests).
    public static func isValidInvocationID(_ id: String) -> Bool {
        (1...128).contains(id.utf8.count)
            && id.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                    || byte == 0x5F || byte == 0x2D || byte == 0x2E || byte == 0x3A
            }
    }

    /// A Kafka topic name: 1 to 249 letters, digits, '.', '_' and '-'.
    public static func isValidTopicName(_ name: String) -> Bool {
        (1...249).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                    || byte == 0x5F || byte == 0x2D || byte == 0x2E
            }
    }

    /// A function name as a header carries it: 1 to 63 lowercase letters, digits and '-'.
    /// An alias name: 1 to 32 lowercase letters, digits and '-'.
    public static func isValidAlias(_ alias: String) -> Bool {
        (1...32).contains(alias.utf8.count)
            && alias.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x2D }
    }

    public static func isValidFunctionName(_ name: String) -> Bool {
        (1...63).contains(name.utf8.count)
            && name.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x2D }
    }
}
