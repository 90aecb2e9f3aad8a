import SluiceKafka

/// What `topics apply` finds when it compares `Topics/` with the cluster.
public struct TopicPlan: Sendable {
    /// A difference between a definition and the cluster that apply does not change by itself.
    public struct Drift: Sendable, Hashable, CustomStringConvertible {
        public var topic: String
        public var field: String
        public var defined: String
        public var actual: String
        public var source: String
        public var description: String {
            "\(topic): \(field) is \(defined) in \(source) but \(actual) on the cluster"
        }
    }

    public var toCreate: [TopicDefinition] = []
    public var drift: [Drift] = []
    public var matching: [TopicDefinition] = []

    public var isNoOp: Bool { toCreate.isEmpty && drift.isEmpty }

    /// Compares definitions with the cluster's topics and their configs.
    public static func make(catalog: TopicCatalog, admin: KafkaAdmin) async throws -> TopicPlan {
        let existing = Dictionary(uniqueKeysWithValues: try await admin.topics().map { ($0.name, $0) })
        var plan = TopicPlan()
        for definition in catalog.topics {
            guard let topic = existing[definition.name] else {
                plan.toCreate.append(definition)
                continue
            }
            var drift: [Drift] = []
            func note(_ field: String, _ defined: String, _ actual: String) {
                drift.append(
                    Drift(
                        topic: definition.name, field: field, defined: defined, actual: actual,
                        source: definition.source))
            }
            if topic.partitionCount != definition.partitions {
                note("partitions", "\(definition.partitions)", "\(topic.partitionCount)")
            }
            if topic.replicationFactor != definition.replication {
                note("replication", "\(definition.replication)", "\(topic.replicationFactor)")
            }
            if !definition.configs.isEmpty {
                let actual = try await admin.topicConfigs(definition.name)
                for (key, value) in definition.configs.sorted(by: { $0.key < $1.key }) where actual[key] != value {
                    note("configs.\(key)", value, actual[key] ?? "unset")
                }
            }
            if drift.isEmpty { plan.matching.append(definition) } else { plan.drift += drift }
        }
        return plan
    }

    /// Creates the missing topics; returns what the cluster said for each.
    public func createMissing(admin: KafkaAdmin) async throws -> [String: TopicCreation] {
        try await admin.createTopics(toCreate.map(\.newTopic))
    }
}
