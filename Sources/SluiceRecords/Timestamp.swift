import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// RFC 3339 UTC timestamps with milliseconds (`2026-11-27T17:05:39.111Z`), formatted with gmtime_r:
/// Foundation's ISO 8601 formatting costs tens of microseconds, which adds up on the hot path.
public enum Timestamp {
    public static func rfc3339(_ date: Date = Date()) -> String {
        let interval = date.timeIntervalSince1970
        var seconds = time_t(interval.rounded(.down))
        let millis = Int((interval - Double(seconds)) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    }

    /// Reads an RFC 3339 time (`2026-11-27T17:05:39Z`, with or without fractional seconds, `Z` or an
    /// offset). Not for hot paths.
    public static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    /// A time as users write it on a command line: RFC 3339, or an age such as `90s`, `15m`, `2h`, `7d`
    /// (that long before `now`).
    public static func parseUserTime(_ text: String, now: Date = Date()) -> Date? {
        if let date = parse(text) { return date }
        for (suffix, seconds) in [("s", 1.0), ("m", 60.0), ("h", 3600.0), ("d", 86_400.0)] where text.hasSuffix(suffix)
        {
            guard let amount = Double(text.dropLast()), amount >= 0 else { return nil }
            return now.addingTimeInterval(-amount * seconds)
        }
        return nil
    }
}
