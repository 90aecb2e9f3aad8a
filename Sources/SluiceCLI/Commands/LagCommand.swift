import ArgumentParser
import Foundation
import SluiceKafka
import SluiceLag
import SluiceRecords
import SluiceSupport

/// `sluice lag`.
struct LagCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lag",
        abstract: "Lag of every consumer group: records, time, rates and status per partition.",
        discussion: """
            Columns: group, topic, partition, committed offset, end (high watermark from Fetch, correct \
            also on the embedded broker), lag in records, lag in time (age of the oldest unconsumed record), \
            produce and consume rates (records/s), status (OK, WARN, STALL, STOP, REWIND; Burrow's rules over \
            a 10 s window) and owner (the worker holding the partition, from the workers' load samples). Under \
            the table: dead letters per function, how many arrived per minute lately, and the replay command. \
            Without --watch it samples twice, --interval apart, for rates and \
            statuses. --json prints an array of objects: group, topic, partition, committed, end, lag, \
            lag_seconds, produce_rate, consume_rate, status, group_status, owner.

            Examples:
              sluice lag
              sluice lag --group sluice-workers --watch
              sluice lag --topic sluice.invocations --json
            """
    )

    @Option(help: "Only this group.") var group: String?
    @Option(help: "Only this topic.") var topic: String?
    @Flag(help: "Print JSON.") var json = false
    @Flag(help: "Refresh in place until Ctrl-C.") var watch = false
    @Option(help: "Seconds between samples.") var interval: Double = 1
    @Option(
        name: .customLong("dlq-topic"),
        help: "The dead-letter topic, whose depth per function is shown under the table.")
    var deadLetterTopic = PlatformTopics.standard.deadLetters
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard interval > 0 else { throw ValidationError("--interval must be more than 0 seconds") }
        if watch && json {
            throw ValidationError("--watch and --json do not go together; run --json repeatedly instead")
        }
    }

    func run() async throws {
        // Dead letters per function go under the table (not in --json, which is the partition rows).
        let view = try await LagView.open(
            connection: connection.connection, groups: group.map { [$0] },
            deadLetterTopic: json || topic != nil ? nil : deadLetterTopic)
        try await closing(close: view.close) { try await show(view) }
    }

    private func show(_ view: LagView) async throws {
        _ = try await view.sample()
        repeat {
            try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
            let groups = try await view.sample()
            if json {
                let rows = groups.flatMap { group in group.partitions.map { (group, $0) } }.filter {
                    topic == nil || $0.1.topic == topic
                }
                printJSON(rows.map { group, row in row.jsonObject(groupStatus: group.status) })
                return
            }
            if watch { print("\u{1B}[H\u{1B}[2J", terminator: "") }
            print(LagTable.partitions(groups, topic: topic))
            if let depth = await view.deadLetterDepth(), let table = LagTable.deadLetters(depth) { print("\n" + table) }
            if watch { print("\nrefreshed \(Date().formatted(date: .omitted, time: .standard)); Ctrl-C to stop") }
        } while watch
    }
}
