import SluiceKafka
import SluiceSupport

extension TopicPlan {
    /// What `sluice topics apply` did (or, for a dry run, would do).
    public struct Report: Sendable {
        public let plan: TopicPlan
        public let created: [String: TopicCreation]
        public let dryRun: Bool

        public init(plan: TopicPlan, created: [String: TopicCreation], dryRun: Bool) {
            self.plan = plan
            self.created = created
            self.dryRun = dryRun
        }

        /// Topics whose creation failed, with why.
        public var failures: [String: String] {
            created.compactMapValues { if case .failed = $0 { "\($0)" } else { nil } }
        }

        /// Drift or a failed creation: the command exits 1.
        public var failed: Bool { !plan.drift.isEmpty || !failures.isEmpty }

        public var jsonObject: [String: any Sendable] {
            [
                "dry_run": dryRun, "create": plan.toCreate.map(\.name),
                "drift": plan.drift.map {
                    [
                        "topic": $0.topic, "field": $0.field, "defined": $0.defined, "actual": $0.actual,
                        "source": $0.source,
                    ]
                },
                "matching": plan.matching.map(\.name), "failed": failures,
            ]
        }

        public var text: String {
            var lines: [String] = plan.toCreate.map { topic in
                let verb = dryRun ? "would create" : (created[topic.name] == .alreadyExists ? "exists" : "created")
                let configs = topic.configs.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                let details = ["\(topic.partitions) partition\(topic.partitions == 1 ? "" : "s")"] + configs
                return "\(verb) \(topic.name) (\(details.joined(separator: ", ")))"
            }
            lines += failures.sorted { $0.key < $1.key }.map { "failed \($0.key): \($0.value)" }
            lines += plan.drift.map { "drift \($0)" }
            if plan.isNoOp {
                lines.append("nothing to do: all \(plan.matching.count) topics match the definitions")
            } else if !plan.drift.isEmpty {
                lines.append(
                    "Sluice never alters or deletes topics: resolve drift by changing the definition or the topic by hand."
                )
            }
            return lines.joined(separator: "\n")
        }
    }
}

extension TopicCatalog {
    /// `sluice topics list`: the cluster's topics and whether this catalog defines them.
    public func listing(_ topics: [TopicMetadata]) -> (json: [[String: any Sendable]], text: String) {
        let json: [[String: any Sendable]] = topics.map {
            [
                "name": $0.name, "partitions": $0.partitionCount, "replication": $0.replicationFactor,
                "defined": self[$0.name] != nil,
            ]
        }
        let text = TextTable.render(
            header: ["TOPIC", "PARTITIONS", "REPLICATION", "DEFINED"],
            rows: topics.map {
                [$0.name, String($0.partitionCount), String($0.replicationFactor), self[$0.name] != nil ? "yes" : "no"]
            })
        return (json, text)
    }
}
