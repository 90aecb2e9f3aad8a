import Foundation
import SluiceRecords

/// The `tail --json` line of a record: `{"headers":[…],"key":…,"offset":…,"partition":…,"timestamp":…,
/// "topic":…,"value":…}`. Lossless: a value that is valid JSON on one line is embedded as it is, other
/// UTF-8 text as a string, anything else as `"value_base64"` (and likewise for keys and header values).
public enum RecordJSON {
    public static func line(_ record: ConsumerRecord) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity((record.value?.count ?? 0) + 256)
        out += Array("{\"headers\":[".utf8)
        for (index, header) in record.headers.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += Array("{\"name\":".utf8)
            JSONWriter.appendString(Array(header.name.utf8), to: &out)
            out.append(UInt8(ascii: ","))
            appendBytes(header.value, field: "value", embedJSON: false, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        out += Array("],".utf8)
        appendBytes(record.key, field: "key", embedJSON: false, to: &out)
        out += Array(
            ",\"offset\":\(record.offset),\"partition\":\(record.partition),\"timestamp\":\(record.timestampMs),\"topic\":"
                .utf8)
        JSONWriter.appendString(Array(record.topic.utf8), to: &out)
        out.append(UInt8(ascii: ","))
        appendBytes(record.value, field: "value", embedJSON: true, to: &out)
        out += Array("}\n".utf8)
        return out
    }

    /// `topic/partition@offset key=KEY VALUE` and a newline (`(tombstone)` for a null value).
    public static func plainLine(_ record: ConsumerRecord) -> [UInt8] {
        var line = Array("\(record.topic)/\(record.partition)@\(record.offset) ".utf8)
        if let key = record.key { line += Array("key=".utf8) + key + [UInt8(ascii: " ")] }
        line += record.value ?? Array("(tombstone)".utf8)
        line.append(0x0A)
        return line
    }

    /// `"field":null`, `"field":<json>`, `"field":"<text>"` or `"field_base64":"…"`.
    private static func appendBytes(_ bytes: [UInt8]?, field: String, embedJSON: Bool, to out: inout [UInt8]) {
        guard let bytes else {
            out += Array("\"\(field)\":null".utf8)
            return
        }
        if embedJSON, isSingleLineJSON(bytes) {
            out += Array("\"\(field)\":".utf8) + bytes
        } else if String(validating: bytes, as: UTF8.self) != nil {
            out += Array("\"\(field)\":".utf8)
            JSONWriter.appendString(bytes, to: &out)
        } else {
            out += Array("\"\(field)_base64\":\"\(Data(bytes).base64EncodedString())\"".utf8)
        }
    }

    private static func isSingleLineJSON(_ bytes: [UInt8]) -> Bool {
        guard let first = bytes.first(where: { $0 != 0x20 && $0 != 0x09 }),
            first == UInt8(ascii: "{") || first == UInt8(ascii: "[") || first == UInt8(ascii: "\"")
                || first == UInt8(ascii: "-")
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) || first == UInt8(ascii: "t")
                || first == UInt8(ascii: "f")
                || first == UInt8(ascii: "n"),
            !bytes.contains(0x0A), !bytes.contains(0x0D)
        else { return false }
        return (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil
    }
}
