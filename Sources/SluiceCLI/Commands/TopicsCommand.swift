import ArgumentParser
import Foundation
import SluiceKafka
import SluiceSupport
import SluiceTopics

/// `sluice topics apply|list`.
struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "Create the topics defined in Topics/ and list the cluster's topics.",
        discussion: "Example:\n  sluice topics apply --dry-run",
        subcommands: [Apply.self, List.self]
    )

    struct Source: ParsableArguments {
        @Option(name: .customLong("topics-dir"), help: ArgumentHelp("Folder of topic definitions. Default: Topics/ of the checkout.", valueName: "dir"))
        var topicsDir: String?

        func load() throws -> TopicCatalog {
            try TopicCatalog.load(directory: topicsDir.map { URL(fileURLWithPath: $0) } ?? ProjectPaths.discover().topics)
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create missing topics; report drift (exit 1). Never deletes or alters a topic.",
            discussion: "Example:\n  sluice topics apply --brokers 127.0.0.1:9092")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var source: Source
        @Flag(help: "Only say what would be created.") var dryRun = false
        @Flag(help: "Print one JSON object: created, drift, matching.") var json = false

        func run() async throws {
            let catalog = try source.load()
            let admin = try KafkaAdmin.make(connection.connection)
            let plan = try await TopicPlan.make(catalog: catalog, admin: admin)
            var created: [String: TopicCreation] = [:]
            if !dryRun { created = try await plan.createMissing(admin: admin) }
            await admin.close()
            let failures = created.filter { if case .failed = $0.value { true } else { false } }

            if json {
                printJSON([
                    "dry_run": dryRun,
                    "create": plan.toCreate.map(\.name),
                    "drift": plan.drift.map { ["topic": $0.topic, "field": $0.field, "defined": $0.defined, "actual": $0.actual, "source": $0.source] },
                    "matching": plan.matching.map(\.name),
                    "failed": failures.mapValues { "\($0)" },
                ])
            } else {
                for topic in plan.toCreate {
                    let verb = dryRun ? "would create" : (created[topic.name] == .alreadyExists ? "exists" : "created")
                    print("\(verb) \(topic.name) (\(topic.partitions) partition\(topic.partitions == 1 ? "" : "s")\(topic.configs.isEmpty ? "" : ", " + topic.configs.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")))")
                }
                for (name, failure) in failures.sorted(by: { $0.key < $1.key }) { print("failed \(name): \(failure)") }
                for drift in plan.drift { print("drift \(drift)") }
                if plan.isNoOp {
                    print("nothing to do: all \(plan.matching.count) topics match \(catalog.topics.isEmpty ? "the definitions" : "Topics/")")
                } else if !plan.drift.isEmpty {
                    print("Sluice never alters or deletes topics: resolve drift by changing the definition or the topic by hand.")
                }
            }
            if !plan.drift.isEmpty || !failures.isEmpty { throw ExitCode(1) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the cluster's topics and whether Topics/ defines them.", discussion: "Example:\n  sluice topics list --json")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var source: Source
        @Flag(help: "Print a JSON array.") var json = false

        func run() async throws {
            let catalog = (try? source.load()) ?? TopicCatalog(topics: [])
            let admin = try KafkaAdmin.make(connection.connection)
            let topics = try await admin.topics()
            await admin.close()
            if json {
                printJSON(topics.map { topic -> [String: Any] in
                    ["name": topic.name, "partitions": topic.partitionCount, "replication": topic.replicationFactor, "defined": catalog[topic.name] != nil]
                })
                return
            }
            let width = max(5, topics.map(\.name.count).max() ?? 0)
            print("TOPIC".padding(toLength: width, withPad: " ", startingAt: 0) + "  PARTITIONS  REPLICATION  DEFINED")
            for topic in topics {
                print(topic.name.padding(toLength: width, withPad: " ", startingAt: 0)
                    + "  " + String(topic.partitionCount).padding(toLength: 10, withPad: " ", startingAt: 0)
                    + "  " + String(topic.replicationFactor).padding(toLength: 11, withPad: " ", startingAt: 0)
                    + "  " + (catalog[topic.name] != nil ? "yes" : "no"))
            }
        }
    }
}
