import Foundation
import SluiceRecords

/// SplitMix64: a seeded generator, so a fuzzing run can be repeated from its seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Bad records of every kind: random bytes, truncated and wrong-typed JSON, extreme numbers, missing and
/// duplicated headers, huge keys, values and headers, unknown function names.
struct HostileRecordGenerator {
    var random: SeededGenerator

    init(seed: UInt64) {
        random = SeededGenerator(state: seed)
    }

    mutating func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &random)] }
    mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &random) < probability }

    mutating func bytes(upTo limit: Int) -> [UInt8] {
        (0..<Int.random(in: 0...limit, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
    }

    mutating func number() -> String {
        pick([
            "-9223372036854775808", "9223372036854775807", "99999999999999999999999", "-1", "0", "1", "1e300",
            "NaN", "", " 1", "0x10", "1.5", String(Int64.random(in: .min ... .max, using: &random)),
        ])
    }

    mutating func text() -> String {
        pick([
            "", "\"'", "../../etc/passwd", String(repeating: "a", count: 10_000), "\u{0}", "ok", "sluice.results", "é",
            "inv_\"}", String(repeating: "é", count: 300),
        ])
    }

    mutating func json() -> [UInt8] {
        Array(
            pick([
                "{", "{\"a\":", "[1,2", "null", "{}", "[]", "{\"name\":1}", "\"\\ud800\"", "1e99999", "NaN",
                "{\"type\":\"load_sample\",\"in_flight\":9223372036854775807}",
                "{\"manifest\":{\"code_path\":\"/\"},\"version\":-1}",
            ]).utf8)
    }

    /// A record value: nothing, random bytes, bad JSON, a harmless event, or now and then one over the
    /// platform's 256 KB event limit (up to near the 900 KB record budget).
    mutating func value() -> [UInt8]? {
        switch Int.random(in: 0..<20, using: &random) {
        case 0: return nil
        case 1...4: return bytes(upTo: 64)
        case 5...8: return json()
        case 9: return Array(repeating: 0x78, count: pick([262_145, 300_000, 899_000]))
        default: return Array("\"event\"".utf8)
        }
    }

    /// A key: mostly `marker` (to account for the record), else nothing, bytes or a 100 KB key.
    mutating func key(marker: String) -> [UInt8]? {
        chance(0.85) ? Array(marker.utf8) : pick([nil, bytes(upTo: 32), Array(repeating: 0x6B, count: 100_000)])
    }

    /// Headers of an invocation request: some missing, some extreme, some duplicated or huge.
    mutating func requestHeaders(id: String, function: String) -> [KafkaHeader] {
        var headers: [KafkaHeader] = []
        if chance(0.95) { headers.append(KafkaHeader(name: SluiceHeader.invocationID, string: id)) }
        if chance(0.95) { headers.append(KafkaHeader(name: SluiceHeader.function, string: function)) }
        let numbers = [
            SluiceHeader.attempt, SluiceHeader.enqueuedAt, SluiceHeader.triggerTimestamp, SluiceHeader.originPartition,
            SluiceHeader.originOffset, SluiceHeader.originTimestamp, SluiceHeader.triggerPartition,
            SluiceHeader.triggerOffset, SluiceHeader.retryDue,
        ]
        for name in numbers where chance(0.2) { headers.append(KafkaHeader(name: name, string: number())) }
        if chance(0.2) { headers.append(KafkaHeader(name: SluiceHeader.originTopic, string: text())) }
        if chance(0.1) { headers.append(KafkaHeader(name: TraceParent.headerName, string: text())) }
        if chance(0.1) { headers.append(KafkaHeader(name: SluiceHeader.function, string: text())) }
        if chance(0.1) {
            headers.append(KafkaHeader(name: SluiceHeader.alias, string: pick(["beta", "live", text()])))
        }
        if chance(0.05) { headers.append(KafkaHeader(name: "x-huge", value: Array(repeating: 0x41, count: 70_000))) }
        return headers
    }
}
