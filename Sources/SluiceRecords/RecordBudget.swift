/// How large a record Sluice writes may be: under the broker's default `message.max.bytes` (1 MB) and
/// the producer's, with room for the batch's own overhead. Records built from untrusted parts (an
/// event's value, its headers, a function's error) are fitted to it, so the broker never refuses one.
public enum RecordBudget {
    public static let bytes = 900_000
    /// The last size a record refused as too large is fitted to: Sluice's own headers, no value, no key.
    public static let smallest = 4_096
    /// Headers of the original record that travel along (passthrough) take at most this many bytes.
    public static let passthroughHeaderBytes = 65_536
    /// Set on a record whose value was left out to fit: the value's size in bytes.
    public static let valueDroppedHeader = "sluice-value-dropped-bytes"
    /// Set on a record whose passthrough headers were left out to fit: their size in bytes.
    public static let headersDroppedHeader = "sluice-headers-dropped-bytes"
}

extension ProducerRecord {
    /// Key, value and headers (names and values) in bytes.
    public var byteCount: Int {
        (key?.count ?? 0) + (value?.count ?? 0) + headers.reduce(0) { $0 + $1.name.utf8.count + ($1.value?.count ?? 0) }
    }

    /// This record within `budget`: first headers not Sluice's own are left out (when they take more
    /// than `RecordBudget.passthroughHeaderBytes`, or the record is still too large), then the value,
    /// then the key; each omission is noted in a header with the bytes left out.
    public func fitted(budget: Int = RecordBudget.bytes) -> ProducerRecord {
        var record = self
        let foreign = record.headers.filter { !$0.name.hasPrefix("sluice-") && $0.name != TraceParent.headerName }
        let foreignBytes = foreign.reduce(0) { $0 + $1.name.utf8.count + ($1.value?.count ?? 0) }
        if foreignBytes > RecordBudget.passthroughHeaderBytes || (record.byteCount > budget && foreignBytes > 0) {
            record.headers.removeAll { !$0.name.hasPrefix("sluice-") && $0.name != TraceParent.headerName }
            record.headers.append(KafkaHeader(name: RecordBudget.headersDroppedHeader, string: String(foreignBytes)))
        }
        if record.byteCount > budget, let value = record.value {
            record.value = nil
            record.headers.append(KafkaHeader(name: RecordBudget.valueDroppedHeader, string: String(value.count)))
        }
        if record.byteCount > budget { record.key = nil }
        return record
    }
}

extension ConsumerRecord {
    /// Key, value and headers (names and values) in bytes: what holding the record costs.
    public var byteCount: Int {
        (key?.count ?? 0) + (value?.count ?? 0) + headers.reduce(0) { $0 + $1.name.utf8.count + ($1.value?.count ?? 0) }
    }
}
