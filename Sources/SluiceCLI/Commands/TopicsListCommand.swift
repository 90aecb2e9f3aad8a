import ArgumentParser
import SluiceKafka
import SluiceTopics

/// `sluice topics list`.
struct TopicsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the cluster's topics and whether Topics/ defines them.",
        discussion: "Example:\n  sluice topics list --json")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var source: TopicSourceOptions
    @Flag(help: "Print a JSON array of {name, partitions, replication, defined}.") var json = false

    func run() async throws {
        let catalog = (try? source.load()) ?? TopicCatalog(topics: [])
        let topics = try await KafkaAdmin.with(connection.connection) { try await $0.topics() }
        let listing = catalog.listing(topics)
        if json {
            printJSON(listing.json)
        } else {
            print(listing.text)
        }
    }
}
