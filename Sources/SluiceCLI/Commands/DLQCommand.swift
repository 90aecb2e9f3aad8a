import ArgumentParser
import Foundation
import SluiceDeadLetters
import SluiceFunctions
import SluiceKafka
import SluicePipeline
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
    @Option(name: .customLong("error-class"), help: "Only this class: \(ErrorClass.allCases.map(\.rawValue).joined(separator: ", ")).")
    var errorClass: String?
    @Option(help: ArgumentHelp("Last failure at or after this time: RFC 3339, or an age like 30m, 2h, 7d.", valueName: "time"))
    var since: String?
    @Option(help: ArgumentHelp("Last failure before this time (same forms as --since).", valueName: "time"))
    var until: String?
    @Option(name: .customLong("dlq-topic"), help: "The dead-letter topic.") var topic = DeadLetter.topic

    func validate() throws {
        if let errorClass, ErrorClass(rawValue: errorClass) == nil {
            throw ValidationError("unknown --error-class '\(errorClass)'; classes are \(ErrorClass.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        for (name, value) in [("--since", since), ("--until", until)] {
            if let value, Timestamp.parseUserTime(value) == nil {
                throw ValidationError("\(name) '\(value)' is neither an RFC 3339 time (2026-11-27T10:00:00Z) nor an age (30m, 2h, 7d)")
            }
        }
    }

    var query: DeadLetterQuery {
        DeadLetterQuery(
            function: function, errorClass: errorClass.flatMap(ErrorClass.init(rawValue:)), since: since.flatMap { Timestamp.parseUserTime($0) },
            until: until.flatMap { Timestamp.parseUserTime($0) })
    }
}

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
        let ledger = try await ReplayLedger.load(connection: kafka)
        let summary = DeadLetterSummary(letters)
        let shown = limit.map { Array(letters.prefix($0)) } ?? letters
        if json {
            printJSON([
                "summary": summary.rows.map { ["function": $0.function, "error_class": $0.errorClass.rawValue, "count": $0.count, "oldest": $0.oldest, "newest": $0.newest] },
                "records": shown.map { DeadLetterJSON.object($0, replayed: $0.position.map(ledger.contains) ?? false) },
            ] as [String: Any])
            return
        }
        guard !letters.isEmpty else {
            print("no dead letters on \(filter.topic) match")
            return
        }
        print(Table.render(
            header: ["FUNCTION", "CLASS", "COUNT", "OLDEST", "NEWEST"],
            rows: summary.rows.map { [$0.function, $0.errorClass.rawValue, String($0.count), $0.oldest, $0.newest] }))
        print("")
        print(Table.render(
            header: ["POSITION", "FUNCTION", "CLASS", "ATTEMPTS", "LAST FAILURE", "REPLAYED", "ERROR"],
            rows: shown.map { letter in
                [
                    letter.position?.description ?? "?", letter.function, letter.errorClass.rawValue, String(letter.attempts), letter.lastFailure,
                    letter.position.map(ledger.contains) == true ? "yes" : "no", String(letter.error.prefix(60)).replacingOccurrences(of: "\n", with: " "),
                ]
            }))
        if shown.count < letters.count { print("… \(letters.count - shown.count) more (--limit)") }
        if unreadable > 0 { printError("\(unreadable) records on \(filter.topic) are not Sluice dead letters and were skipped") }
    }
}

struct DLQShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one dead letter with all its provenance.",
        discussion: "Example:\n  sluice dlq show sluice.dlq/0@42 --json"
    )

    @Argument(help: ArgumentHelp("The dead letter's position.", valueName: "topic/partition@offset")) var position: String
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        guard let at = position.lastIndex(of: "@"), let slash = position[..<at].lastIndex(of: "/"),
            let partition = Int32(position[position.index(after: slash)..<at]), let offset = Int64(position[position.index(after: at)...])
        else { throw ValidationError("'\(position)' is not a position; write topic/partition@offset, e.g. sluice.dlq/0@42") }
        let topic = String(position[..<slash])
        let records = try await TopicSnapshot.read(topic, connection: connection.connection)
        guard let record = records.first(where: { $0.partition == partition && $0.offset == offset }) else {
            throw CLIError("there is no record at \(position)")
        }
        guard let letter = DeadLetter(record) else { throw CLIError("the record at \(position) is not a Sluice dead letter (its headers are missing)") }
        let ledger = try await ReplayLedger.load(connection: connection.connection)
        var object = DeadLetterJSON.object(letter, replayed: ledger.contains(letter.position!))
        object["stderr_tail"] = letter.stderrTail
        object["key"] = letter.key.map { String(decoding: $0, as: UTF8.self) } ?? NSNull()
        object["value"] = letter.value.map { String(decoding: $0, as: UTF8.self) } ?? NSNull()
        object["traceparent"] = letter.traceParent?.description ?? NSNull()
        object["headers"] = record.headers.map { ["name": $0.name, "value": $0.value.map { String(decoding: $0, as: UTF8.self) } ?? ""] }
        if json {
            printJSON(object)
            return
        }
        for key in ["position", "function", "version", "invocation_id", "error_class", "reason", "attempts", "first_failure", "last_failure", "origin", "worker", "replayed", "traceparent", "key", "error", "stderr_tail", "value"] {
            print("\(key.padding(toLength: 14, withPad: " ", startingAt: 0)) \(object[key].map { "\($0)" } ?? "")")
        }
    }
}

struct DLQReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Publish matching dead letters again as fresh invocation requests.",
        discussion: """
            Each becomes attempt 1 of the function's current version, with a sluice-replay-of header naming \
            the dead letter. Replays are recorded on sluice.dlq.replays: running the same replay again \
            publishes nothing, unless --force. Progress goes to standard error (a bar on a terminal).

            Examples:
              sluice dlq replay --function resize --dry-run
              sluice dlq replay --function resize --error-class timeout --rate 50 --limit 1000
              sluice dlq replay --function resize-v1 --to-function resize
            """
    )

    @OptionGroup var filter: DeadLetterFilterOptions
    @Option(help: "Replay at most this many.") var limit: Int?
    @Option(help: ArgumentHelp("At most this many requests per second (e.g. 100 or 100/s).", valueName: "n")) var rate: String?
    @Option(name: .customLong("to-function"), help: "Send them to this function instead.") var toFunction: String?
    @Option(name: .customLong("invocations-topic"), help: "Where requests go.") var invocationsTopic = InvocationRequest.topic
    @Flag(name: .customLong("dry-run"), help: "List what would be replayed; publish nothing.") var dryRun = false
    @Flag(help: "Replay also what was replayed before.") var force = false
    @Flag(help: "Print JSON: {\"matched\", \"already_replayed\", \"replayed\": [{dead_letter, invocation_id, function}], \"dry_run\", \"seconds\"}.")
    var json = false
    @OptionGroup var connection: ConnectionOptions

    var ratePerSecond: Double? {
        rate.flatMap { Double($0.hasSuffix("/s") ? String($0.dropLast(2)) : $0) }
    }

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if rate != nil, (ratePerSecond ?? 0) <= 0 { throw ValidationError("--rate takes a positive number per second, e.g. 100 or 100/s") }
    }

    func run() async throws {
        let kafka = connection.connection
        if let toFunction {
            let registry = try await FunctionRegistry.load(connection: kafka)
            defer { Task { await registry.close() } }
            guard registry.function(named: toFunction) != nil else { throw CLIError("function \(toFunction) is not deployed (`sluice functions list`)") }
        }
        var options = DeadLetterReplayer.Options()
        options.invocationsTopic = invocationsTopic
        options.toFunction = toFunction
        options.limit = limit
        options.rate = ratePerSecond
        options.force = force
        let replayer = DeadLetterReplayer(connection: kafka, options: options)
        async let ledger = replayer.loadLedger()
        let (letters, _) = try await filter.query.read(topic: filter.topic, connection: kafka)
        let report: DeadLetterReplayer.Report
        if dryRun {
            report = replayer.plan(letters, ledger: try await ledger)
        } else {
            let bar = ProgressBar(label: "replayed")
            report = try await replayer.replay(letters, ledger: try await ledger) { done, total in bar.update(done, of: total) }
            bar.finish()
        }
        if json {
            printJSON([
                "matched": report.matched, "already_replayed": report.alreadyReplayed, "dry_run": dryRun, "seconds": report.seconds,
                "replayed": report.replayed.map { ["dead_letter": $0.deadLetter.description, "invocation_id": $0.invocationID, "function": $0.function] },
            ] as [String: Any])
            return
        }
        if dryRun {
            for item in report.replayed { print("would replay \(item.deadLetter) → \(item.function) as \(item.invocationID)") }
        }
        let verb = dryRun ? "would replay" : "replayed"
        print("\(verb) \(report.replayed.count) of \(report.matched) matching dead letters; \(report.alreadyReplayed) were replayed before\(force ? "" : " (--force replays them again)")")
    }
}

/// The JSON object of a dead letter in `list` and `show`.
enum DeadLetterJSON {
    static func object(_ letter: DeadLetter, replayed: Bool) -> [String: Any] {
        [
            "position": letter.position?.description ?? NSNull(), "function": letter.function, "version": letter.functionVersion,
            "invocation_id": letter.invocationID, "error_class": letter.errorClass.rawValue, "reason": letter.reason.rawValue,
            "attempts": letter.attempts, "error": letter.error, "first_failure": letter.firstFailure, "last_failure": letter.lastFailure,
            "origin": letter.origin.map { "\($0.topic)/\($0.partition)@\($0.offset)" } ?? NSNull(), "worker": letter.worker, "replayed": replayed,
        ]
    }
}
