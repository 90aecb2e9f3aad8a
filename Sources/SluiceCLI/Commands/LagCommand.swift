import ArgumentParser
import Foundation
import SluiceKafka
import SluiceLag

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
    @Option(name: .customLong("dlq-topic"), help: "The dead-letter topic, whose depth per function is shown under the table.")
    var deadLetterTopic = "sluice.dlq"
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard interval > 0 else { throw ValidationError("--interval must be more than 0 seconds") }
        if watch && json { throw ValidationError("--watch and --json do not go together; run --json repeatedly instead") }
    }

    func run() async throws {
        var options = LagEngine.Options()
        if let group { options.groups = [group] }
        // Owners come from the workers' load samples (the broker does not report assignments).
        let roster = WorkerRoster()
        if (try? await roster.start(connection: connection.connection)) != nil { options.roster = roster }
        let engine = try LagEngine(connection: connection.connection, options: options)
        // Dead letters per function, shown under the table (not in --json, which is the partition rows).
        let deadLetters = DeadLetterFollower()
        let deadLetterEnds: [TopicPartition: Int64]?
        if !json, topic == nil, (try? await deadLetters.start(connection: connection.connection, topic: deadLetterTopic)) != nil {
            let admin = try KafkaAdmin.make(connection.connection)
            deadLetterEnds = try? await admin.highWatermarks(topics: [deadLetterTopic])
            await admin.close()
        } else {
            deadLetterEnds = nil
        }
        defer { Task { await engine.close(); await roster.close(); await deadLetters.close() } }
        _ = try await engine.sample()
        repeat {
            try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
            let groups = try await engine.sample()
            let rows = groups.flatMap { group in group.partitions.map { (group, $0) } }.filter { topic == nil || $0.1.topic == topic }
            if json {
                printJSON(rows.map { group, row in row.jsonObject(groupStatus: group.status) })
                return
            }
            if watch { print("\u{1B}[H\u{1B}[2J", terminator: "") }
            if rows.isEmpty {
                print("no consumer group has committed offsets\(topic.map { " on \($0)" } ?? "")")
            } else {
                print(Table.render(
                    header: ["GROUP", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "LAG TIME", "IN/S", "OUT/S", "STATUS", "OWNER"],
                    rows: rows.map { group, row in
                        [
                            row.group, row.topic, String(row.partition), String(row.committed), String(row.end), String(row.lag),
                            LagJSON.duration(row.lagSeconds), String(format: "%.1f", row.produceRate), String(format: "%.1f", row.consumeRate),
                            row.status == .ok && group.status != "OK" ? "OK (group \(group.status))" : row.status.rawValue, row.owner ?? "-",
                        ]
                    }))
            }
            if let deadLetterEnds {
                // Counted up to the dead letters present at the start (10 s at most; a partial count otherwise).
                _ = await deadLetters.waitUntilRead(upTo: deadLetterEnds, timeout: .seconds(10))
                let depth = await deadLetters.depth
                if !depth.functions.isEmpty {
                    print("\n" + Table.render(
                        header: ["FUNCTION", "DEAD LETTERS", "NEW/MIN", "REPLAY"],
                        rows: depth.functions.map { function in
                            [function, String(depth.depth(function)), String(format: "%.1f", depth.growthPerMinute(function)), "sluice dlq replay --function \(function)"]
                        }))
                }
            }
            if watch { print("\nrefreshed \(Date().formatted(date: .omitted, time: .standard)); Ctrl-C to stop") }
        } while watch
    }
}

/// Formatting of lag figures.
enum LagJSON {
    /// 0.4s, 12s, 3m05s, 2h01m.
    static func duration(_ seconds: Double) -> String {
        if seconds < 10 { return String(format: "%.1fs", seconds) }
        let whole = Int(seconds)
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        return String(format: "%dh%02dm", whole / 3600, (whole % 3600) / 60)
    }
}
