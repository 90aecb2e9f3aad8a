import Foundation
import Logging
import SluiceKafka
import SluiceRecords

/// The workers alive now, from their load samples on `sluice.scaling` (one a second each): which
/// partitions each holds, what it runs, and which partitions a record in retry holds. The embedded
/// broker reports neither member ids nor assignments, so this is where owners come from.
public actor WorkerRoster {
    /// A worker whose last sample is older than this is gone.
    public let freshness: Duration
    /// Each worker's latest sample, with the time it was written (ms since the epoch).
    private var latest: [String: (sample: LoadSample, atMs: Int64)] = [:]
    private var following: Task<Void, Never>?

    public init(freshness: Duration = .seconds(3)) {
        self.freshness = freshness
    }

    /// Follows `topic` until `close()`, from its last `tail` records (the recent samples).
    public func start(
        connection: KafkaConnection, topic: String = PlatformTopics.standard.scaling, tail: Int64 = 200,
        logger: Logger = Logger(label: "sluice.lag")
    ) async throws {
        let follower = try await TopicFollower.open(
            topic, from: TopicPartitionOffset.tail(tail), connection: connection, logger: logger)
        following = Task {
            await follower.forEachRecord { record in
                if let value = record.value, let sample = LoadSample.decode(value) {
                    await self.note(sample, atMs: record.timestampMs)
                }
            }
        }
    }

    public func close() async {
        following?.cancel()
        await following?.value
        following = nil
    }

    public func note(_ sample: LoadSample, atMs: Int64) {
        if let known = latest[sample.workerID], known.atMs > atMs { return }
        latest[sample.workerID] = (sample, atMs)
    }

    /// The latest sample of every worker heard from within `freshness`.
    public func samples(group: String? = nil) -> [LoadSample] {
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        let freshMs = freshness / .milliseconds(1)
        return latest.values.filter { Double(nowMs - $0.atMs) <= freshMs && (group == nil || $0.sample.group == group) }
            .map(\.sample)
            .sorted { $0.workerID < $1.workerID }
    }

    /// Which worker holds each partition, per the group's samples.
    public func owners(group: String) -> [TopicPartition: String] {
        var owners: [TopicPartition: String] = [:]
        for sample in samples(group: group) {
            for partition in sample.partitions {
                owners[TopicPartition(partition.topic, partition.partition)] = sample.workerID
            }
        }
        return owners
    }
}
