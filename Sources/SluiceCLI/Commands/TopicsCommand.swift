import ArgumentParser
import Foundation
import SluiceSupport
import SluiceTopics

/// `sluice topics apply|list`.
struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "Create the topics defined in Topics/ and list the cluster's topics.",
        discussion: "Example:\n  sluice topics apply --dry-run",
        subcommands: [TopicsApplyCommand.self, TopicsListCommand.self]
    )
}

/// Where topic definitions are read from.
struct TopicSourceOptions: ParsableArguments {
    @Option(
        name: .customLong("topics-dir"),
        help: ArgumentHelp("Folder of topic definitions. Default: Topics/ of the checkout.", valueName: "dir"))
    var topicsDir: String?

    func load() throws -> TopicCatalog {
        try TopicCatalog.load(directory: topicsDir.map { URL(fileURLWithPath: $0) } ?? ProjectPaths.discover().topics)
    }
}
