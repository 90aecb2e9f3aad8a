import SluiceKafka
import SluiceSupport

/// A topic as `Topics/*.yaml` defines it.
public struct TopicDefinition: Sendable, Hashable {
    public var name: String
    public var partitions: Int
    public var replication: Int
    public var configs: [String: String]
    /// What the topic is for (shown by `topics list`).
    public var description: String
    /// `file:line` of the definition.
    public var source: String

    public init(
        name: String, partitions: Int, replication: Int = 1, configs: [String: String] = [:], description: String = "",
        source: String = ""
    ) {
        self.name = name
        self.partitions = partitions
        self.replication = replication
        self.configs = configs
        self.description = description
        self.source = source
    }

    public var newTopic: NewTopic {
        NewTopic(name: name, partitions: partitions, replicationFactor: replication, configs: configs)
    }

    static let keys: Set<String> = ["name", "partitions", "replication", "configs", "description"]

    /// Kafka's rule for topic names.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 249 && name != "." && name != ".."
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") }
    }

    init(yaml: YAMLValue) throws {
        let fields = try yaml.mapping(allowed: Self.keys)
        let nameValue = try fields.required("name")
        name = try nameValue.string()
        guard Self.isValidName(name) else {
            throw nameValue.error("'\(name)' is not a valid topic name (letters, digits, '.', '_', '-'; at most 249)")
        }
        partitions = try fields.required("partitions").int(in: 1...10_000)
        replication = try fields["replication"]?.int(in: 1...32) ?? 1
        configs = try fields["configs"]?.stringMap() ?? [:]
        description = try fields["description"]?.scalar() ?? ""
        source = "\(yaml.file):\(yaml.line)"
    }
}
