import Foundation
import SluiceKafka
import SluiceSupport

/// Which dead letters were replayed, kept on Kafka (`sluice.dlq.replays`, compacted; key = the dead
/// letter's position `topic/partition@offset`), so replaying the same records twice publishes nothing.
public struct ReplayLedger: Sendable {
    public static let topic = "sluice.dlq.replays"

    public struct Entry: Sendable {
        public var invocationID: String
        public var replayedAt: String
    }

    /// Replays recorded so far, by dead-letter position.
    public let entries: [String: Entry]

    public static func load(topic: String = ReplayLedger.topic, connection: KafkaConnection) async throws -> ReplayLedger {
        var entries: [String: Entry] = [:]
        for record in try await TopicSnapshot.read(topic, connection: connection) {
            guard let key = record.key.map({ String(decoding: $0, as: UTF8.self) }) else { continue }
            guard let value = record.value,
                let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any]
            else {
                entries[key] = nil  // a tombstone forgets a replay
                continue
            }
            entries[key] = Entry(invocationID: object["invocation_id"] as? String ?? "", replayedAt: object["replayed_at"] as? String ?? "")
        }
        return ReplayLedger(entries: entries)
    }

    public func contains(_ position: RecordPosition) -> Bool { entries[position.description] != nil }

    /// The ledger record of one replay.
    public static func record(topic: String = ReplayLedger.topic, position: RecordPosition, invocationID: String, function: String) -> ProducerRecord {
        var json = JSONWriter(capacity: 200)
        json.beginObject()
        json.field("dead_letter", position.description)
        json.field("invocation_id", invocationID)
        json.field("function", function)
        json.field("replayed_at", Timestamp.rfc3339())
        json.endObject()
        return ProducerRecord(topic: topic, key: Array(position.description.utf8), value: json.bytes)
    }
}
