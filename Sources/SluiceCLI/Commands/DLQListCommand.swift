import ArgumentParser
import SluiceDeadLetters

/// `sluice dlq list`.
struct DLQListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Summarize dead letters (count per function and error class) and list them.",
        discussion: """
            --json prints one object: {"summary": [{function, error_class, count, oldest, newest}], \
            "records": [{position, function, version, invocation_id, error_class, reason, attempts, error, \
            first_failure, last_failure, origin, worker, replayed}]}.

            Example:
              sluice dlq list --function resize --since 1h --json
            """
    )

    @OptionGroup var filter: DeadLetterFilterOptions
    @Option(help: "List at most this many records (the summary counts all).") var limit: Int?
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let kafka = connection.connection
        let (letters, unreadable) = try await filter.query.read(topic: filter.topic, connection: kafka)
        let listing = DeadLetterListing(
            letters: letters, ledger: try await ReplayLedger.load(connection: kafka), limit: limit)
        if json {
            printJSON(listing.jsonObject)
        } else {
            print(letters.isEmpty ? "no dead letters on \(filter.topic) match" : listing.text)
        }
        if unreadable > 0 {
            printError("\(unreadable) records on \(filter.topic) are not Sluice dead letters and were skipped")
        }
    }
}
