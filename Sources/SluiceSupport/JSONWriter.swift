/// Writes JSON objects straight into bytes, in the order fields are added. Used on hot paths (results,
/// invocation logs, function context) where Foundation's JSONSerialization costs too much.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    private var needsComma = [false]

    public init(capacity: Int = 512) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func beginObject(_ key: String? = nil) {
        if let key { self.key(key) } else { separate() }
        bytes.append(UInt8(ascii: "{"))
        needsComma.append(false)
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma.removeLast()
    }

    /// Starts an array (its elements are objects begun with `beginObject()`).
    public mutating func beginArray(_ key: String) {
        self.key(key)
        bytes.append(UInt8(ascii: "["))
        needsComma.append(false)
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma.removeLast()
    }

    public mutating func field(_ key: String, _ value: String?) {
        self.key(key)
        if let value { Self.appendString(Array(value.utf8), to: &bytes) } else { bytes += Self.null }
    }

    public mutating func field(_ key: String, _ value: Int) {
        self.key(key)
        bytes += Array(String(value).utf8)
    }

    public mutating func field(_ key: String, _ value: Int64) {
        self.key(key)
        bytes += Array(String(value).utf8)
    }

    /// A number with at most `decimals` decimals (finite; non-finite numbers are written as 0).
    public mutating func field(_ key: String, _ value: Double, decimals: Int = 3) {
        self.key(key)
        guard value.isFinite else {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        bytes += Array(
            (rounded == rounded.rounded() && abs(rounded) < 1e15 ? String(Int64(rounded)) : String(rounded)).utf8)
    }

    public mutating func field(_ key: String, _ value: Bool) {
        self.key(key)
        bytes += Array((value ? "true" : "false").utf8)
    }

    /// A value that is already JSON text.
    public mutating func field(_ key: String, json: [UInt8]?) {
        self.key(key)
        if let json, !json.isEmpty { bytes += json } else { bytes += Self.null }
    }

    public mutating func field(_ key: String, strings: [String: String]) {
        beginObject(key)
        for (name, value) in strings { field(name, value) }
        endObject()
    }

    private mutating func key(_ key: String) {
        separate()
        Self.appendString(Array(key.utf8), to: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    private mutating func separate() {
        if needsComma[needsComma.count - 1] { bytes.append(UInt8(ascii: ",")) }
        needsComma[needsComma.count - 1] = true
    }

    private static let null = Array("null".utf8)
    private static let hex = Array("0123456789abcdef".utf8)

    /// Appends `bytes` (UTF-8) as a JSON string literal.
    public static func appendString(_ bytes: [UInt8], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20: out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
