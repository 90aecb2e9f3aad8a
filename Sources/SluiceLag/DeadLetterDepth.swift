import Foundation
import SluiceKafka

/// Dead letters per function, counted from `sluice.dlq` (its `sluice-function` header): the depth (every
/// dead letter the topic holds, replayed or not, until retention removes it) and how fast it grows.
public struct DeadLetterDepth: Sendable {
    private var counts: [String: Int] = [:]
    /// Write times (seconds since the epoch) of the last hour's dead letters, per function.
    private var recent: [String: [Double]] = [:]

    public init() {}

    /// Counts one record of the dead-letter topic.
    public mutating func note(_ record: ConsumerRecord) {
        guard let function = record.header("sluice-function").map({ String(decoding: $0, as: UTF8.self) }), !function.isEmpty else { return }
        let time = record.timestampMs > 0 ? Double(record.timestampMs) / 1000 : Date().timeIntervalSince1970
        counts[function, default: 0] += 1
        recent[function, default: []].append(time)
        recent[function]?.removeAll { time - $0 > 3600 }
    }

    public var functions: [String] { counts.keys.sorted() }

    public func depth(_ function: String) -> Int { counts[function] ?? 0 }

    /// Dead letters per minute over the last `window` seconds.
    public func growthPerMinute(_ function: String, window: Double = 60, now: Double = Date().timeIntervalSince1970) -> Double {
        Double((recent[function] ?? []).filter { now - $0 <= window }.count) * 60 / window
    }
}

/// Follows the dead-letter topic from its beginning, keeping a `DeadLetterDepth`.
public actor DeadLetterFollower {
    public private(set) var depth = DeadLetterDepth()
    /// Per partition, the next offset to read.
    private var next: [TopicPartition: Int64] = [:]
    private var following: Task<Void, Never>?

    public init() {}

    /// Starts reading `topic` (until `close()`).
    public func start(connection: KafkaConnection, topic: String = "sluice.dlq") async throws {
        let consumer = try await KafkaConsumer.following(topic, from: TopicPartitionOffset.beginning, connection: connection)
        following = Task {
            await withTaskCancellationHandler {
                for await event in consumer.events {
                    if case .record(let record) = event { self.note(record) }
                }
            } onCancel: {
                consumer.finishEvents()
            }
            await consumer.close()
        }
    }

    private func note(_ record: ConsumerRecord) {
        depth.note(record)
        next[record.topicPartition] = record.offset + 1
    }

    /// Whether every partition was read up to `ends`.
    public func hasRead(upTo ends: [TopicPartition: Int64]) -> Bool {
        ends.allSatisfy { partition, end in end <= 0 || (next[partition] ?? 0) >= end }
    }

    public func close() async {
        following?.cancel()
        await following?.value
        following = nil
    }
}
