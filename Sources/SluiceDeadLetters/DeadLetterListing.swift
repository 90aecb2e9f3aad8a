import Foundation
import SluiceRecords
import SluiceSupport

/// What `sluice dlq list` and `sluice dlq show` print: the summary per function × error class, the
/// records (whether each was replayed), and one dead letter in full.
public struct DeadLetterListing: Sendable {
    public let letters: [DeadLetter]
    public let ledger: ReplayLedger
    /// Records listed (the summary counts all).
    public let limit: Int?

    public init(letters: [DeadLetter], ledger: ReplayLedger, limit: Int?) {
        self.letters = letters
        self.ledger = ledger
        self.limit = limit
    }

    private var shown: [DeadLetter] { limit.map { Array(letters.prefix($0)) } ?? letters }

    /// `{"summary": [{function, error_class, count, oldest, newest}], "records": [...]}`.
    public var jsonObject: [String: Any] {
        [
            "summary": DeadLetterSummary(letters).rows.map {
                [
                    "function": $0.function, "error_class": $0.errorClass.rawValue, "count": $0.count,
                    "oldest": $0.oldest, "newest": $0.newest,
                ]
            },
            "records": shown.map { Self.object($0, replayed: $0.position.map(ledger.contains) ?? false) },
        ]
    }

    /// The summary table, then the records table.
    public var text: String {
        let summary = TextTable.render(
            header: ["FUNCTION", "CLASS", "COUNT", "OLDEST", "NEWEST"],
            rows: DeadLetterSummary(letters).rows.map {
                [$0.function, $0.errorClass.rawValue, String($0.count), $0.oldest, $0.newest]
            })
        let records = TextTable.render(
            header: ["POSITION", "FUNCTION", "CLASS", "ATTEMPTS", "LAST FAILURE", "REPLAYED", "ERROR"],
            rows: shown.map { letter in
                [
                    letter.position?.description ?? "?", letter.function, letter.errorClass.rawValue,
                    String(letter.attempts),
                    letter.lastFailure, letter.position.map(ledger.contains) == true ? "yes" : "no",
                    String(letter.error.prefix(60)).replacingOccurrences(of: "\n", with: " "),
                ]
            })
        let more = shown.count < letters.count ? "\n… \(letters.count - shown.count) more (--limit)" : ""
        return summary + "\n\n" + records + more
    }

    /// One dead letter as `list` shows it.
    public static func object(_ letter: DeadLetter, replayed: Bool) -> [String: Any] {
        [
            "position": letter.position?.description ?? NSNull(), "function": letter.function,
            "version": letter.functionVersion,
            "invocation_id": letter.invocationID, "error_class": letter.errorClass.rawValue,
            "reason": letter.reason.rawValue,
            "attempts": letter.attempts, "error": letter.error, "first_failure": letter.firstFailure,
            "last_failure": letter.lastFailure,
            "origin": letter.origin.map { "\($0.topic)/\($0.partition)@\($0.offset)" } ?? NSNull(),
            "worker": letter.worker, "replayed": replayed,
        ]
    }

    /// One dead letter in full (`show`): also its stderr tail, key, value, trace and every header.
    public static func detail(_ letter: DeadLetter, record: ConsumerRecord, replayed: Bool) -> [String: Any] {
        var object = Self.object(letter, replayed: replayed)
        object["stderr_tail"] = letter.stderrTail
        object["key"] = letter.key.map { String(decoding: $0, as: UTF8.self) } ?? NSNull()
        object["value"] = letter.value.map { String(decoding: $0, as: UTF8.self) } ?? NSNull()
        object["traceparent"] = letter.traceParent?.description ?? NSNull()
        object["headers"] = record.headers.map {
            ["name": $0.name, "value": $0.value.map { String(decoding: $0, as: UTF8.self) } ?? ""]
        }
        return object
    }

    /// `detail` as aligned `name value` lines.
    public static func detailText(_ object: [String: Any]) -> String {
        let keys = [
            "position", "function", "version", "invocation_id", "error_class", "reason", "attempts", "first_failure",
            "last_failure",
            "origin", "worker", "replayed", "traceparent", "key", "error", "stderr_tail", "value",
        ]
        return keys.map {
            "\($0.padding(toLength: 14, withPad: " ", startingAt: 0)) \(object[$0].map { "\($0)" } ?? "")"
        }.joined(separator: "\n")
    }
}

extension DeadLetterReplayer.Report {
    /// `--json` of `sluice dlq replay`.
    public func jsonObject(dryRun: Bool) -> [String: Any] {
        [
            "matched": matched, "already_replayed": alreadyReplayed, "dry_run": dryRun, "seconds": seconds,
            "replayed": replayed.map {
                ["dead_letter": $0.deadLetter.description, "invocation_id": $0.invocationID, "function": $0.function]
            },
        ]
    }

    /// The lines `sluice dlq replay` prints.
    public func text(dryRun: Bool, force: Bool) -> String {
        var lines =
            dryRun ? replayed.map { "would replay \($0.deadLetter) → \($0.function) as \($0.invocationID)" } : []
        let verb = dryRun ? "would replay" : "replayed"
        let again = force ? "" : " (--force replays them again)"
        lines.append(
            "\(verb) \(replayed.count) of \(matched) matching dead letters; \(alreadyReplayed) were replayed before\(again)"
        )
        return lines.joined(separator: "\n")
    }
}
