import Foundation
import SluiceKafka
import SluiceRecords

/// Dead letters per function, counted from `sluice.dlq` (its `sluice-function` header): the depth (every
/// dead letter the topic holds, replayed or not, until retention removes it) and how fast it grows.
public struct DeadLetterDepth: Sendable {
    private var counts: [String: Int] = [:]
    /// Write times (seconds since the epoch) of the last hour's dead letters, per function.
    private var recent: [String: [Double]] = [:]

    public init() {}

    /// Counts one record of the dead-letter topic.
    public mutating func note(_ record: ConsumerRecord) {
        guard let function = record.headerText(SluiceHeader.function), !function.isEmpty else { return }
        let time = record.timestampMs > 0 ? Double(record.timestampMs) / 1000 : Date().timeIntervalSince1970
        counts[function, default: 0] += 1
        recent[function, default: []].append(time)
        recent[function]?.removeAll { time - $0 > 3600 }
    }

    public var functions: [String] { counts.keys.sorted() }

    public func depth(_ function: String) -> Int { counts[function] ?? 0 }

    /// Dead letters per minute over the last `window` seconds.
    public func growthPerMinute(_ function: String, window: Double = 60, now: Double = Date().timeIntervalSince1970)
        -> Double
    {
        Double((recent[function] ?? []).filter { now - $0 <= window }.count) * 60 / window
    }
}

/// Follows the dead-letter topic from its beginning, keeping a `DeadLetterDepth`.
public actor DeadLetterFollower {
    public private(set) var depth = DeadLetterDepth()
    /// Per partition, the next offset to read.
    private var next: [TopicPartition: Int64] = [:]
    private var following: Task<Void, Never>?
    /// Callers of `waitUntilRead`, woken when the read reaches their ends (or their time runs out).
    private var waiters: [(id: Int, ends: [TopicPartition: Int64], done: CheckedContinuation<Bool, Never>)] = []
    private var nextWaiter = 0

    public init() {}

    /// Starts reading `topic` (until `close()`).
    public func start(connection: KafkaConnection, topic: String = PlatformTopics.standard.deadLetters) async throws {
        let follower = try await TopicFollower.open(topic, from: TopicPartitionOffset.beginning, connection: connection)
        following = Task { await follower.forEachRecord { await self.note($0) } }
    }

    private func note(_ record: ConsumerRecord) {
        depth.note(record)
        next[record.topicPartition] = record.offset + 1
        let reached = waiters.filter { hasRead(upTo: $0.ends) }
        waiters.removeAll { waiter in reached.contains { $0.id == waiter.id } }
        for waiter in reached { waiter.done.resume(returning: true) }
    }

    private func hasRead(upTo ends: [TopicPartition: Int64]) -> Bool {
        ends.allSatisfy { partition, end in end <= 0 || (next[partition] ?? 0) >= end }
    }

    /// Returns true once every partition was read up to `ends`, false when `timeout` passes first.
    public func waitUntilRead(upTo ends: [TopicPartition: Int64], timeout: Duration) async -> Bool {
        if hasRead(upTo: ends) { return true }
        nextWaiter += 1
        let id = nextWaiter
        let expiry = Task {
            try? await Task.sleep(for: timeout)
            self.expire(id)
        }
        defer { expiry.cancel() }
        return await withCheckedContinuation { waiters.append((id, ends, $0)) }
    }

    private func expire(_ id: Int) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).done.resume(returning: false)
    }

    public func close() async {
        following?.cancel()
        await following?.value
        following = nil
    }
}
