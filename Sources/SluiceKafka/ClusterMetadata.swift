import SluiceRecords

/// A topic as the cluster describes it.
public struct TopicMetadata: Sendable, Hashable {
    public var name: String
    public var partitions: [PartitionMetadata]
    public var partitionCount: Int { partitions.count }
    /// Replicas of the first partition, the topic's replication factor.
    public var replicationFactor: Int { partitions.first?.replicas.count ?? 0 }
}

/// One partition of a topic.
public struct PartitionMetadata: Sendable, Hashable {
    public var id: Int32
    public var leader: Int32
    public var replicas: [Int32]
}

/// A topic to create.
public struct NewTopic: Sendable, Hashable {
    public var name: String
    public var partitions: Int
    public var replicationFactor: Int
    public var configs: [String: String]
    public init(name: String, partitions: Int, replicationFactor: Int = 1, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// What creating one topic did.
public enum TopicCreation: Sendable, Equatable {
    case created
    case alreadyExists
    case failed(String)
}

/// A consumer group as the broker lists it.
public struct ConsumerGroupInfo: Sendable, Hashable {
    public var name: String
    public var state: String
    public var protocolType: String
    public var members: [GroupMemberInfo]
}

/// One member of a consumer group.
public struct GroupMemberInfo: Sendable, Hashable {
    public var memberID: String
    public var clientID: String
    public var host: String
    /// The partitions assigned to it (decoded from the consumer protocol's assignment).
    public var assignment: [TopicPartition] = []
}

/// A group's committed offset of one partition, with when it was committed when the committer said so
/// (Sluice's consumers put their commit time in the offset metadata: `t=<ms since the epoch>`).
public struct CommittedOffset: Sendable, Hashable {
    public var offset: Int64?
    public var committedAtMs: Int64?
}

/// The consumer protocol's member assignment: version (int16), then [topic (string), [partition (int32)]],
/// then user data. Anything malformed gives an empty list.
enum MemberAssignment {
    static func decode(_ bytes: [UInt8]) -> [TopicPartition] {
        var index = 0
        func int16() -> Int? {
            guard index + 2 <= bytes.count else { return nil }
            defer { index += 2 }
            return Int(Int16(bitPattern: UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])))
        }
        func int32() -> Int? {
            guard index + 4 <= bytes.count else { return nil }
            defer { index += 4 }
            return Int(
                Int32(
                    bitPattern: UInt32(bytes[index]) << 24 | UInt32(bytes[index + 1]) << 16 | UInt32(bytes[index + 2])
                        << 8 | UInt32(bytes[index + 3])))
        }
        guard int16() != nil, let topics = int32(), topics >= 0 else { return [] }
        var result: [TopicPartition] = []
        for _ in 0..<topics {
            guard let length = int16(), length >= 0, index + length <= bytes.count else { return result }
            let topic = String(decoding: bytes[index..<(index + length)], as: UTF8.self)
            index += length
            guard let count = int32(), count >= 0 else { return result }
            for _ in 0..<count {
                guard let partition = int32() else { return result }
                result.append(TopicPartition(topic, Int32(partition)))
            }
        }
        return result
    }
}
