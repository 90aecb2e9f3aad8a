/// One Kafka record header. Names may repeat within a record; values are bytes.
public struct KafkaHeader: Sendable, Hashable {
    public var name: String
    public var value: [UInt8]?
    @inlinable
    public init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }
    @inlinable
    public init(name: String, string: String) {
        self.init(name: name, value: Array(string.utf8))
    }
}

/// A partition of a topic.
public struct TopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    @inlinable
    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }
    // Written out and inlinable: partitions key the hot dictionaries of the Kafka layer and the pipeline,
    // which live in other modules.
    @inlinable
    public static func == (a: TopicPartition, b: TopicPartition) -> Bool {
        a.partition == b.partition && a.topic == b.topic
    }
    @inlinable
    public func hash(into hasher: inout Hasher) {
        hasher.combine(topic)
        hasher.combine(partition)
    }
    public var description: String { "\(topic)/\(partition)" }
    public static func < (a: TopicPartition, b: TopicPartition) -> Bool {
        (a.topic, a.partition) < (b.topic, b.partition)
    }
}

/// A position in a partition: for commits, the offset of the next record to consume.
public struct TopicPartitionOffset: Sendable, Hashable {
    public var topicPartition: TopicPartition
    public var offset: Int64
    @inlinable
    public init(_ topicPartition: TopicPartition, offset: Int64) {
        self.topicPartition = topicPartition
        self.offset = offset
    }
    /// Special offsets understood by `assign` and `seek`.
    public static let beginning: Int64 = -2
    public static let end: Int64 = -1
    /// The last `count` records of each partition (librdkafka's logical tail offset; `TopicFollower`
    /// resolves it from Fetch's high watermark, since the embedded broker's ListOffsets is wrong).
    public static func tail(_ count: Int64) -> Int64 { -2000 - count }
}

/// Where the broker stored a produced record.
public struct RecordPosition: Sendable, Hashable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    @inlinable
    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
    /// `topic/partition@offset`, the form the CLI prints and parses.
    public var description: String { "\(topic)/\(partition)@\(offset)" }
}

/// A record to produce. A `nil` value is a tombstone; a `nil` partition lets the partitioner choose by key.
public struct ProducerRecord: Sendable {
    public var topic: String
    public var partition: Int32?
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [KafkaHeader]
    @inlinable
    public init(
        topic: String, partition: Int32? = nil, key: [UInt8]? = nil, value: [UInt8]?, headers: [KafkaHeader] = []
    ) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
    }
}

/// A record read from Kafka.
public struct ConsumerRecord: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// Milliseconds since the epoch, or -1 when the broker sent none.
    public var timestampMs: Int64
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [KafkaHeader]

    @inlinable
    public init(
        topic: String, partition: Int32, offset: Int64, timestampMs: Int64, key: [UInt8]?, value: [UInt8]?,
        headers: [KafkaHeader]
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestampMs = timestampMs
        self.key = key
        self.value = value
        self.headers = headers
    }

    @inlinable
    public var topicPartition: TopicPartition { TopicPartition(topic, partition) }
    /// The first value of header `name`.
    @inlinable
    public func header(_ name: String) -> [UInt8]? {
        headers.first { $0.name == name }?.value
    }
}

extension RecordPosition {
    /// Parses `topic/partition@offset` (the topic may contain slashes); nil when malformed.
    public init?(parsing text: String) {
        guard let at = text.lastIndex(of: "@"), let slash = text[..<at].lastIndex(of: "/"),
            let partition = Int32(text[text.index(after: slash)..<at]),
            let offset = Int64(text[text.index(after: at)...])
        else { return nil }
        self.init(topic: String(text[..<slash]), partition: partition, offset: offset)
    }
}
