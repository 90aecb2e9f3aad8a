import Foundation
import SluiceFunctions
import SluiceKafka
import SluicePipeline
import SluiceRecords

/// Which dead letters a `sluice dlq` command is about: by function, error class and a window on the
/// time of their last failure (`since` inclusive, `until` exclusive).
public struct DeadLetterQuery: Sendable {
    public var function: String?
    public var errorClass: ErrorClass?
    public var since: Date?
    public var until: Date?

    public init(function: String? = nil, errorClass: ErrorClass? = nil, since: Date? = nil, until: Date? = nil) {
        self.function = function
        self.errorClass = errorClass
        self.since = since
        self.until = until
    }

    public func matches(_ letter: DeadLetter) -> Bool {
        if let function, letter.function != function { return false }
        if let errorClass, letter.errorClass != errorClass { return false }
        if since != nil || until != nil {
            guard let time = letter.lastFailureDate else { return false }
            if let since, time < since { return false }
            if let until, time >= until { return false }
        }
        return true
    }

    /// The dead letters on `topic` that match, in the order they were dead-lettered (last failure, then
    /// position). Records without dead-letter headers are skipped and counted in `unreadable`.
    public func read(topic: String = PlatformTopics.standard.deadLetters, connection: KafkaConnection) async throws -> (
        letters: [DeadLetter], unreadable: Int
    ) {
        let records = try await TopicSnapshot.read(topic, connection: connection)
        var letters: [DeadLetter] = []
        var unreadable = 0
        for record in records {
            guard let letter = DeadLetter(record) else {
                unreadable += 1
                continue
            }
            if matches(letter) { letters.append(letter) }
        }
        letters.sort { a, b in
            // RFC 3339 UTC times of one format order as text.
            (a.lastFailure, a.position?.partition ?? 0, a.position?.offset ?? 0) < (
                b.lastFailure, b.position?.partition ?? 0, b.position?.offset ?? 0
            )
        }
        return (letters, unreadable)
    }
}

/// Counts per function × error class with the oldest and newest last failure.
public struct DeadLetterSummary: Sendable {
    public struct Row: Sendable {
        public var function: String
        public var errorClass: ErrorClass
        public var count: Int
        public var oldest: String
        public var newest: String
    }
    public let rows: [Row]

    public init(_ letters: [DeadLetter]) {
        var rows: [String: Row] = [:]
        for letter in letters {
            let key = letter.function + "\u{0}" + letter.errorClass.rawValue
            var row =
                rows[key]
                ?? Row(
                    function: letter.function, errorClass: letter.errorClass, count: 0, oldest: letter.lastFailure,
                    newest: letter.lastFailure)
            row.count += 1
            // RFC 3339 UTC times of one format order as text.
            row.oldest = min(row.oldest, letter.lastFailure)
            row.newest = max(row.newest, letter.lastFailure)
            rows[key] = row
        }
        self.rows = rows.values.sorted { ($0.function, $0.errorClass.rawValue) < ($1.function, $1.errorClass.rawValue) }
    }
}
