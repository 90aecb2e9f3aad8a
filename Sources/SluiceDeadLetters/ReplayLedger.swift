import Foundation
import SluiceKafka
import SluiceRecords
import SluiceSupport

/// Which dead letters were replayed, kept on Kafka (`sluice.dlq.replays`), so replaying the same
/// records twice publishes nothing. One ledger record covers a batch of replays (written once all their
/// requests are acknowledged): key = the batch's first dead-letter position and its size, value =
/// `{"replayed_at", "replays": [{"dead_letter": "topic/partition@offset", "invocation_id", "function"}]}`.
public struct ReplayLedger: Sendable {
    public static let topic = PlatformTopics.standard.replays

    public struct Entry: Sendable {
        public var deadLetter: RecordPosition
        public var invocationID: String
        public var function: String
        public init(deadLetter: RecordPosition, invocationID: String, function: String) {
            self.deadLetter = deadLetter
            self.invocationID = invocationID
            self.function = function
        }
    }

    /// Replays recorded so far: dead-letter position → invocation id.
    public let replayed: [String: String]

    public init(replayed: [String: String] = [:]) { self.replayed = replayed }

    public static func load(topic: String = ReplayLedger.topic, connection: KafkaConnection) async throws
        -> ReplayLedger
    {
        var replayed: [String: String] = [:]
        for record in try await TopicSnapshot.read(topic, connection: connection) {
            guard let value = record.value,
                let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any],
                let entries = object["replays"] as? [[String: Any]]
            else { continue }
            for entry in entries {
                if let position = entry["dead_letter"] as? String {
                    replayed[position] = entry["invocation_id"] as? String ?? ""
                }
            }
        }
        return ReplayLedger(replayed: replayed)
    }

    public func contains(_ position: RecordPosition) -> Bool { replayed[position.description] != nil }

    /// The ledger record of a batch of replays.
    public static func record(topic: String = ReplayLedger.topic, entries: [Entry]) -> ProducerRecord {
        var json = JSONWriter(capacity: 64 + entries.count * 120)
        json.beginObject()
        json.field("replayed_at", Timestamp.rfc3339())
        json.beginArray("replays")
        for entry in entries {
            json.beginObject()
            json.field("dead_letter", entry.deadLetter.description)
            json.field("invocation_id", entry.invocationID)
            json.field("function", entry.function)
            json.endObject()
        }
        json.endArray()
        json.endObject()
        let key = "\(entries.first?.deadLetter.description ?? "")+\(entries.count)"
        return ProducerRecord(topic: topic, key: Array(key.utf8), value: json.bytes)
    }
}
