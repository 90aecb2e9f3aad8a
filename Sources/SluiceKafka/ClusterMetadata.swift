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
}
