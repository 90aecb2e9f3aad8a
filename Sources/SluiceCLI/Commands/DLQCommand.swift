import ArgumentParser
import SluiceDeadLetters
import SluiceRecords
import SluiceSupport

/// `sluice dlq list|show|replay`.
struct DLQCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "Inspect and replay dead letters (sluice.dlq).",
        discussion: """
            A dead letter is an event whose invocation failed for good: its original key and value, with \
            headers naming where it came from, the function and version, the attempts, the error class and \
            message, the stderr tail and the times of the first and last failure.

            Examples:
              sluice dlq list --function resize --error-class timeout --since 2h
              sluice dlq show sluice.dlq/0@42
              sluice dlq replay --function resize --rate 100
            """,
        subcommands: [DLQListCommand.self, DLQShowCommand.self, DLQReplayCommand.self]
    )
}

/// Filters shared by `list` and `replay`.
struct DeadLetterFilterOptions: ParsableArguments {
    @Option(help: "Only dead letters of this function.") var function: String?
    @Option(
        name: .customLong("error-class"),
        help: "Only this class: \(ErrorClass.allCases.map(\.rawValue).joined(separator: ", ")).")
    var errorClass: String?
    @Option(
        help: ArgumentHelp(
            "Last failure at or after this time: RFC 3339, or an age like 30m, 2h, 7d.", valueName: "time"))
    var since: String?
    @Option(help: ArgumentHelp("Last failure before this time (same forms as --since).", valueName: "time"))
    var until: String?
    @Option(name: .customLong("dlq-topic"), help: "The dead-letter topic.") var topic = PlatformTopics.standard
        .deadLetters

    func validate() throws {
        if let errorClass, ErrorClass(rawValue: errorClass) == nil {
            let classes = ErrorClass.allCases.map(\.rawValue).joined(separator: ", ")
            throw ValidationError("unknown --error-class '\(errorClass)'; classes are \(classes)")
        }
        for (name, value) in [("--since", since), ("--until", until)] {
            if let value, Timestamp.parseUserTime(value) == nil {
                throw ValidationError(
                    "\(name) '\(value)' is neither an RFC 3339 time (2026-11-27T10:00:00Z) nor an age (30m, 2h, 7d)")
            }
        }
    }

    var query: DeadLetterQuery {
        DeadLetterQuery(
            function: function, errorClass: errorClass.flatMap(ErrorClass.init(rawValue:)),
            since: since.flatMap { Timestamp.parseUserTime($0) },
            until: until.flatMap { Timestamp.parseUserTime($0) })
    }
}
