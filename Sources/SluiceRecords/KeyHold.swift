/// Where a retry chain holds records back: the invocations partition its request was first read from,
/// the function, and the key (records of that key, or of the whole partition for `ordering: partition`,
/// wait there until the chain ends). Carried on the non-final results of its attempts, so that a worker
/// taking the partition over knows of the chain from the results it follows.
public struct KeyHold: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var function: String
    /// The request's key as text; nil for a key longer than `maxKeyBytes` (such a key is not held after a
    /// change of owner).
    public var key: String?

    /// The longest key carried.
    public static let maxKeyBytes = 1024

    public init(topic: String, partition: Int32, function: String, key: String?) {
        self.topic = topic
        self.partition = partition
        self.function = function
        self.key = key.flatMap { $0.utf8.count <= Self.maxKeyBytes ? $0 : nil }
    }

    /// Read from a result's headers; nil when absent or out of bounds (every record is untrusted).
    public init?(headersOf record: ConsumerRecord) {
        guard let topic = record.headerText(SluiceHeader.heldTopic), RecordBounds.isValidTopicName(topic),
            let partition = record.headerNumber(SluiceHeader.heldPartition, in: RecordBounds.partition),
            let function = record.headerText(SluiceHeader.function), RecordBounds.isValidFunctionName(function)
        else { return nil }
        let key = record.headerText(SluiceHeader.heldKey)
        if let key, key.utf8.count > Self.maxKeyBytes { return nil }
        self.init(topic: topic, partition: Int32(partition), function: function, key: key)
    }

    /// The headers that carry it (with `sluice-function`, which results have anyway).
    public var headers: [KafkaHeader] {
        [
            KafkaHeader(name: SluiceHeader.heldTopic, string: topic),
            KafkaHeader(name: SluiceHeader.heldPartition, string: String(partition)),
        ] + (key.map { [KafkaHeader(name: SluiceHeader.heldKey, string: $0)] } ?? [])
    }

    /// What a result's MAC covers of it.
    public var authenticatedText: String {
        "\(topic)\u{0}\(partition)\u{0}\(function)\u{0}\(key.map { "+" + $0 } ?? "-")"
    }
}
