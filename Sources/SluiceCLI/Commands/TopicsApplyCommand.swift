import ArgumentParser
import SluiceKafka
import SluiceTopics

/// `sluice topics apply`.
struct TopicsApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Create missing topics; report drift (exit 1). Never deletes or alters a topic.",
        discussion: "Example:\n  sluice topics apply --brokers 127.0.0.1:9092")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var source: TopicSourceOptions
    @Flag(help: "Only say what would be created.") var dryRun = false
    @Flag(help: "Print one JSON object: dry_run, create, drift, matching, failed.") var json = false

    func run() async throws {
        let catalog = try source.load()
        let report = try await KafkaAdmin.with(connection.connection) { admin in
            let plan = try await TopicPlan.make(catalog: catalog, admin: admin)
            return TopicPlan.Report(
                plan: plan, created: dryRun ? [:] : try await plan.createMissing(admin: admin), dryRun: dryRun)
        }
        if json {
            printJSON(report.jsonObject)
        } else {
            print(report.text)
        }
        if report.failed { throw ExitCode(1) }
    }
}
