import Foundation
import SluiceSupport

/// Every topic defined under a `Topics/` folder, validated on load.
public struct TopicCatalog: Sendable {
    public let topics: [TopicDefinition]

    public init(topics: [TopicDefinition]) {
        self.topics = topics
    }

    public subscript(name: String) -> TopicDefinition? {
        topics.first { $0.name == name }
    }

    /// Loads every `*.yaml`/`*.yml` file of `directory` (sorted by name).
    /// - Throws: `ConfigurationError` naming file, line and field for bad YAML, unknown keys, wrong types,
    ///   or a topic defined twice.
    public static func load(directory: URL) throws -> TopicCatalog {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        } catch {
            throw ConfigurationError(
                file: directory.path, line: 0, field: "",
                message: "cannot read the topics folder: \(error.localizedDescription)")
        }
        var topics: [TopicDefinition] = []
        for file in files {
            let shown = "\(directory.lastPathComponent)/\(file)"
            for topic in try parse(YAMLFile(path: directory.appendingPathComponent(file).path, displayPath: shown)) {
                if let earlier = topics.first(where: { $0.name == topic.name }) {
                    let line = Int(topic.source.split(separator: ":").last ?? "") ?? 0
                    throw ConfigurationError(
                        file: shown, line: line, field: "name",
                        message: "topic \(topic.name) is already defined at \(earlier.source)")
                }
                topics.append(topic)
            }
        }
        return TopicCatalog(topics: topics)
    }

    /// The topics of one file: a mapping with a `topics` list.
    public static func parse(_ file: YAMLFile) throws -> [TopicDefinition] {
        let document = try file.root.mapping(allowed: ["topics"])
        return try document.required("topics").list().map(TopicDefinition.init(yaml:))
    }
}
