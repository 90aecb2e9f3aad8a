/// Where a request's chain of attempts began.
public struct Origin: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// Milliseconds since the epoch (-1: unknown).
    public var timestampMs: Int64

    public init(topic: String, partition: Int32, offset: Int64, timestampMs: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestampMs = timestampMs
    }

    public var headers: [KafkaHeader] {
        [
            KafkaHeader(name: SluiceHeader.originTopic, string: topic),
            KafkaHeader(name: SluiceHeader.originPartition, string: String(partition)),
            KafkaHeader(name: SluiceHeader.originOffset, string: String(offset)),
            KafkaHeader(name: SluiceHeader.originTimestamp, string: String(timestampMs)),
        ]
    }
}

extension Origin {
    /// Reads the `sluice-origin-*` headers of a record; nil when topic, partition or offset is missing or
    /// malformed or out of range (an unknown timestamp is -1).
    public init?(headersOf record: ConsumerRecord) {
        guard let topic = record.headerText(SluiceHeader.originTopic),
            topic.utf8.count <= 249,
            let partition = record.headerNumber(SluiceHeader.originPartition, in: RecordBounds.partition),
            let offset = record.headerNumber(SluiceHeader.originOffset, in: RecordBounds.offset)
        else { return nil }
        let timestampMs = record.headerNumber(SluiceHeader.originTimestamp, in: RecordBounds.epochMs) ?? -1
        self.init(topic: topic, partition: Int32(partition), offset: offset, timestampMs: timestampMs)
    }
}
