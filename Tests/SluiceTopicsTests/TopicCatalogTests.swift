import Foundation
import SluiceSupport
import SluiceTesting
import SluiceTopics
import Testing

@Suite("Topic definitions are validated on load")
struct TopicCatalogTests {
    func parse(_ yaml: String) throws -> [TopicDefinition] {
        try TopicCatalog.parse(YAMLFile(text: yaml, displayPath: "Topics/t.yaml"))
    }

    func error(_ yaml: String) -> ConfigurationError? {
        do {
            _ = try parse(yaml)
            return nil
        } catch {
            return error as? ConfigurationError
        }
    }

    @Test("A valid file gives its topics with defaults and source lines")
    func valid() throws {
        let topics = try parse(
            "topics:\n  - name: a.b\n    partitions: 3\n  - name: c\n    partitions: 1\n    replication: 2\n    configs:\n      cleanup.policy: compact\n"
        )
        #expect(topics.map(\.name) == ["a.b", "c"])
        #expect(topics[0].replication == 1)
        #expect(topics[1].configs == ["cleanup.policy": "compact"])
        #expect(topics[1].source == "Topics/t.yaml:4")
    }

    @Test("Missing field, wrong type, unknown key, bad name: each names file, line and field")
    func errors() {
        #expect(
            error("topics:\n  - name: a\n")?.description
                == "Topics/t.yaml:2: field 'topics[0].partitions': is required but missing")
        #expect(
            error("topics:\n  - name: a\n    partitions: many\n")?.description
                == "Topics/t.yaml:3: field 'topics[0].partitions': expected a whole number, got 'many'")
        #expect(error("topics:\n  - name: a\n    partitions: 0\n")?.field == "topics[0].partitions")
        #expect(error("topics:\n  - name: a\n    partitions: 1\n    retention: 5\n")?.line == 4)
        #expect(error("topics:\n  - name: a b\n    partitions: 1\n")?.field == "topics[0].name")
        #expect(error("topic:\n  - name: a\n")?.field == "topic")
        #expect(error("topics: [\n")?.message.hasPrefix("invalid YAML") == true)
    }

    @Test("The repository's Topics/ folder loads and defines every platform topic")
    func repositoryTopics() throws {
        let catalog = try TopicCatalog.load(directory: CommandRunner.packageRoot.appendingPathComponent("Topics"))
        for name in [
            "sluice.functions", "sluice.invocations", "sluice.results", "sluice.invocation-log", "sluice.dlq",
            "sluice.scaling", "sluice.retry.1s",
        ] {
            #expect(catalog[name] != nil, "\(name) is not defined")
        }
        #expect(catalog["sluice.functions"]?.configs["cleanup.policy"] == "compact")
    }

    @Test("A topic defined in two files is an error naming both places")
    func duplicates() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("dup"))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "topics:\n  - name: x\n    partitions: 1\n".write(
            to: folder.appendingPathComponent("a.yaml"), atomically: true, encoding: .utf8)
        try "topics:\n  - name: x\n    partitions: 2\n".write(
            to: folder.appendingPathComponent("b.yaml"), atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationError.self) { try TopicCatalog.load(directory: folder) }
        do {
            _ = try TopicCatalog.load(directory: folder)
        } catch {
            #expect("\(error)".contains("already defined at \(folder.lastPathComponent)/a.yaml:2"))
        }
    }
}
