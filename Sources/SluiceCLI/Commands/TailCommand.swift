import ArgumentParser
import Foundation
import SluiceKafka
import SluiceRecords
import SluiceSupport

/// `sluice tail TOPIC`.
struct TailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Print records of a topic as they arrive.",
        discussion: """
            Without --group nothing is committed. --json prints one object per line: topic, partition, offset, \
            timestamp (ms), key, headers, value. A value that is JSON is embedded as JSON, other UTF-8 text as a \
            string, and bytes that are not UTF-8 as value_base64 (keys and header values likewise).

            Examples:
              sluice tail sluice.results --from-beginning --limit 10
              sluice tail orders.created --group audit --json
            """
    )

    @Argument(help: "The topic to read.") var topic: String
    @Flag(help: "Start at the oldest record instead of the end.") var fromBeginning = false
    @Option(help: "Read as this consumer group and commit what was printed.") var group: String?
    @Option(help: "Exit after this many records.") var limit: Int?
    @Flag(help: "Print one JSON object per record.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        let tail = TopicTail(
            topic: topic, group: group, fromBeginning: fromBeginning, connection: connection.connection)
        var printed = 0
        do {
            try await tail.read { record in
                FileHandle.standardOutput.write(Data(json ? RecordJSON.line(record) : RecordJSON.plainLine(record)))
                printed += 1
                return limit.map { printed < $0 } ?? true
            }
        } catch let error as KafkaError where error.code == .unknownTopic {
            throw CLIError(error.message)
        }
    }
}
