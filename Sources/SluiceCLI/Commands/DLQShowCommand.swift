import ArgumentParser
import SluiceDeadLetters
import SluiceKafka
import SluiceRecords

/// `sluice dlq show`.
struct DLQShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one dead letter with all its provenance.",
        discussion: "Example:\n  sluice dlq show sluice.dlq/0@42 --json"
    )

    @Argument(help: ArgumentHelp("The dead letter's position.", valueName: "topic/partition@offset")) var position:
        String
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        _ = try wanted()
    }

    private func wanted() throws -> RecordPosition {
        guard let wanted = RecordPosition(parsing: position) else {
            throw ValidationError("'\(position)' is not a position; write topic/partition@offset, e.g. sluice.dlq/0@42")
        }
        return wanted
    }

    func run() async throws {
        let wanted = try wanted()
        let records = try await TopicSnapshot.read(wanted.topic, connection: connection.connection)
        guard let record = records.first(where: { $0.partition == wanted.partition && $0.offset == wanted.offset })
        else {
            throw CLIError("there is no record at \(position)")
        }
        guard let letter = DeadLetter(record) else {
            throw CLIError("the record at \(position) is not a Sluice dead letter (its headers are missing)")
        }
        let ledger = try await ReplayLedger.load(connection: connection.connection)
        let object = DeadLetterListing.detail(letter, record: record, replayed: ledger.contains(wanted))
        if json {
            printJSON(object)
        } else {
            print(DeadLetterListing.detailText(object))
        }
    }
}
