import Foundation
import Logging
import SluiceKafka
import SluiceRecords
import SluiceSupport
import Synchronization

/// A partition's status over the sliding window, after Burrow's rules.
public enum LagStatus: String, Sendable, Codable, Comparable, CaseIterable {
    /// Caught up, or consuming at least as fast as records arrive.
    case ok = "OK"
    /// Committing and moving, but the lag grew over the whole window.
    case warn = "WARN"
    /// Committing, but the committed offset did not move over the window while there is lag.
    case stall = "STALL"
    /// No commit for longer than the stop threshold while there is lag.
    case stop = "STOP"
    /// The committed offset went back.
    case rewind = "REWIND"

    var severity: Int { LagStatus.allCases.firstIndex(of: self)! }
    public static func < (a: LagStatus, b: LagStatus) -> Bool { a.severity < b.severity }
}

/// One group's position on one partition, as `sluice lag --json` prints it.
public struct PartitionLag: Sendable, Hashable {
    public var group: String
    public var topic: String
    public var partition: Int32
    public var committed: Int64
    public var end: Int64
    public var lag: Int64 { max(0, end - committed) }
    /// Age of the oldest record not consumed yet (0 when caught up).
    public var lagSeconds: Double
    /// Records per second produced to / committed on the partition over the window.
    public var produceRate: Double
    public var consumeRate: Double
    public var status: LagStatus
    /// The member (client id) the partition is assigned to, if any.
    public var owner: String?
    /// When the group last committed it (Sluice consumers say so in the offset metadata).
    public var committedAtMs: Int64?
}

/// A group's partitions and overall status: `OK`, `WARN` (some partition warns) or `ERR` (some
/// partition is STALL, STOP or REWIND).
public struct GroupLag: Sendable, Hashable {
    public var group: String
    public var state: String
    public var members: Int
    public var partitions: [PartitionLag]
    public var status: String {
        let worst = partitions.map(\.status).max() ?? .ok
        return worst == .ok ? "OK" : worst == .warn ? "WARN" : "ERR"
    }
    public var totalLag: Int64 { partitions.reduce(0) { $0 + $1.lag } }
    public var maxLagSeconds: Double { partitions.map(\.lagSeconds).max() ?? 0 }
}

/// Measures every consumer group against the real end of every partition it committed on: lag in
/// records and in time, rates, owners, and a status per partition from the samples of a sliding window.
/// One engine serves the CLI, the dashboard and the autoscaler; call `sample()` about once a second.
public actor LagEngine {
    public struct Options: Sendable {
        /// Samples older than this are forgotten; rates and WARN/STALL look at this window.
        public var window: Duration = .seconds(10)
        /// No commit for this long while there is lag is STOP.
        public var stopAfter: Duration = .seconds(10)
        /// Only these groups (nil: all).
        public var groups: Set<String>?
        /// Where owners come from when the broker does not say (the workers' load samples).
        public var roster: WorkerRoster?
        public init() {}
    }

    struct Sample {
        var time: ContinuousClock.Instant
        var committed: Int64
        var end: Int64
        var committedAtMs: Int64?
    }

    struct Key: Hashable {
        var group: String
        var partition: TopicPartition
    }

    let connection: KafkaConnection
    let options: Options
    let logger: Logger
    private let admin: KafkaAdmin
    private var history: [Key: [Sample]] = [:]
    /// A group-id'd consumer per group for reading its committed offsets (never joins the group).
    private var offsetReaders: [String: KafkaConsumer] = [:]
    /// Record timestamps already looked up: (partition, offset) → ms.
    private var timestamps: [TopicPartition: (offset: Int64, timestampMs: Int64)] = [:]

    public init(connection: KafkaConnection, options: Options = Options(), logger: Logger = Logger(label: "sluice.lag"))
        throws
    {
        self.connection = connection
        self.options = options
        self.logger = logger
        self.admin = try KafkaAdmin.make(connection, logger: logger)
    }

    public func close() async {
        for reader in offsetReaders.values { await reader.close() }
        offsetReaders = [:]
        await admin.close()
    }

    private func committed(group: String, partitions: [TopicPartition]) async throws -> [TopicPartition:
        CommittedOffset]
    {
        let reader: KafkaConsumer
        if let existing = offsetReaders[group] {
            reader = existing
        } else {
            reader = try KafkaConsumer.make(
                ConsumerConfiguration(connection: connection, groupID: group), logger: logger)
            offsetReaders[group] = reader
        }
        return try await reader.committedWithTimes(partitions)
    }

    /// Takes one sample of every group and returns the groups with their partitions.
    public func sample() async throws -> [GroupLag] {
        let groups = try await admin.consumerGroups().filter { options.groups?.contains($0.name) ?? true }
        let topics = try await admin.topics().filter { !$0.name.hasPrefix("__") }
        let allPartitions = topics.flatMap { topic in topic.partitions.map { TopicPartition(topic.name, $0.id) } }
        var rows: [(Key, CommittedOffset, String?)] = []
        for group in groups {
            let committed = try await committed(group: group.name, partitions: allPartitions)
            var owners: [TopicPartition: String] = await options.roster?.owners(group: group.name) ?? [:]
            for member in group.members {
                for partition in member.assignment {
                    owners[partition] = member.clientID.isEmpty ? member.memberID : member.clientID
                }
            }
            for (partition, offset) in committed where offset.offset != nil {
                rows.append((Key(group: group.name, partition: partition), offset, owners[partition]))
            }
        }
        // Ends only of the topics some group committed on (a cluster can hold many more).
        let ends = try await admin.highWatermarks(topics: Set(rows.map(\.0.partition.topic)).sorted())
        // Lag in time needs the timestamp of each group's oldest unconsumed record.
        var needed = Set<TopicPartitionOffset>()
        for (key, offset, _) in rows {
            guard let position = offset.offset, position < (ends[key.partition] ?? 0) else { continue }
            needed.insert(TopicPartitionOffset(key.partition, offset: position))
        }
        let stamps = try await recordTimestamps(Array(needed))
        // Ages and window positions as of the end of the sample.
        let now = ContinuousClock.now
        let wallNowMs = Int64(Date().timeIntervalSince1970 * 1000)
        var result: [GroupLag] = []

        for group in groups {
            var partitions: [PartitionLag] = []
            for (key, offset, owner) in rows where key.group == group.name {
                guard let position = offset.offset else { continue }
                let end = ends[key.partition] ?? 0
                var samples = history[key, default: []]
                samples.append(Sample(time: now, committed: position, end: end, committedAtMs: offset.committedAtMs))
                // The window, but never less than the sample before this one (samples can be far apart).
                let previous = samples.count >= 2 ? samples[samples.count - 2] : nil
                samples.removeAll { now - $0.time > options.window }
                if let previous, samples.count < 2 { samples.insert(previous, at: 0) }
                history[key] = samples
                let stamp = stamps[TopicPartitionOffset(key.partition, offset: position)]
                let lagSeconds = position < end ? max(0, Double(wallNowMs - (stamp ?? wallNowMs)) / 1000) : 0
                let (produceRate, consumeRate) = Self.rates(samples)
                let status = Self.status(
                    samples, nowMs: wallNowMs, stopAfterMs: Int64(options.stopAfter / .milliseconds(1)),
                    hasMembers: !group.members.isEmpty)
                partitions.append(
                    PartitionLag(
                        group: group.name, topic: key.partition.topic, partition: key.partition.partition,
                        committed: position, end: end,
                        lagSeconds: lagSeconds, produceRate: produceRate, consumeRate: consumeRate, status: status,
                        owner: owner,
                        committedAtMs: offset.committedAtMs))
            }
            guard !partitions.isEmpty else { continue }
            partitions.sort { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
            result.append(
                GroupLag(group: group.name, state: group.state, members: group.members.count, partitions: partitions))
        }
        return result.sorted { $0.group < $1.group }
    }

    /// Records per second produced and committed over the samples.
    static func rates(_ samples: [Sample]) -> (produce: Double, consume: Double) {
        guard let first = samples.first, let last = samples.last, last.time > first.time else { return (0, 0) }
        let seconds = (last.time - first.time) / .seconds(1)
        return (Double(last.end - first.end) / seconds, Double(max(0, last.committed - first.committed)) / seconds)
    }

    static func status(_ samples: [Sample], nowMs: Int64, stopAfterMs: Int64, hasMembers: Bool) -> LagStatus {
        Rules.status(
            committed: samples.map(\.committed), ends: samples.map(\.end), commitTimesMs: samples.map(\.committedAtMs),
            nowMs: nowMs,
            stopAfterMs: stopAfterMs, hasMembers: hasMembers)
    }

    /// Burrow's rules over the window's samples, oldest first (pure logic):
    /// - the committed offset went back within the window → REWIND;
    /// - caught up → OK;
    /// - no commit for `stopAfter` (commit times known), or no members and an unmoving offset → STOP;
    /// - commits coming (two commit times or more) but the offset the same over the window → STALL;
    /// - the offset moving but the lag growing at every sample (at least 3) → WARN;
    /// - otherwise OK.
    public enum Rules {
        public static func status(
            committed: [Int64], ends: [Int64], commitTimesMs: [Int64?], nowMs: Int64, stopAfterMs: Int64,
            hasMembers: Bool
        ) -> LagStatus {
            guard let last = committed.last, let end = ends.last else { return .ok }
            if zip(committed, committed.dropFirst()).contains(where: { $0 > $1 }) { return .rewind }
            if last >= end { return .ok }
            let unmoved = committed.count >= 2 && committed.allSatisfy { $0 == last }
            if let committedAt = commitTimesMs.last ?? nil {
                if nowMs - committedAt > stopAfterMs { return .stop }
                if unmoved && Set(commitTimesMs.compactMap { $0 }).count >= 2 { return .stall }
            } else if unmoved {
                return hasMembers ? .stall : .stop
            }
            if committed.count >= 3 {
                let lags = zip(ends, committed).map { $0 - $1 }
                if zip(lags, lags.dropFirst()).allSatisfy({ $0 < $1 }) { return .warn }
            }
            return .ok
        }
    }

    /// The timestamps of the records at these positions (absent where none arrived within 3 s).
    private func recordTimestamps(_ positions: [TopicPartitionOffset]) async throws -> [TopicPartitionOffset: Int64] {
        var found: [TopicPartitionOffset: Int64] = [:]
        var missing: [TopicPartitionOffset] = []
        for position in positions {
            if let known = timestamps[position.topicPartition], known.offset == position.offset {
                found[position] = known.timestampMs
            } else {
                missing.append(position)
            }
        }
        guard !missing.isEmpty else { return found }
        // One reader per distinct offset of a partition (groups at different offsets of one partition).
        var rounds: [[TopicPartitionOffset]] = []
        for position in missing {
            if let index = rounds.firstIndex(where: { !$0.contains { $0.topicPartition == position.topicPartition } }) {
                rounds[index].append(position)
            } else {
                rounds.append([position])
            }
        }
        for round in rounds {
            let consumer = try KafkaConsumer.make(ConsumerConfiguration(connection: connection), logger: logger)
            try await consumer.assign(round)
            let starts = Dictionary(uniqueKeysWithValues: round.map { ($0.topicPartition, $0.offset) })
            // What arrived within 3 s counts, also when not every partition's record did.
            let read = Mutex<[TopicPartition: Int64]>([:])
            _ = await withTimeout(.seconds(3), onTimeout: { consumer.finishEvents() }) {
                for await event in consumer.events {
                    guard case .record(let record) = event, let offset = starts[record.topicPartition],
                        record.offset >= offset
                    else { continue }
                    let done = read.withLock { read in
                        read[record.topicPartition] = read[record.topicPartition] ?? record.timestampMs
                        return read.count == starts.count
                    }
                    if done { break }
                }
            }
            await consumer.close()
            for (partition, timestampMs) in read.withLock({ $0 }) {
                guard let offset = starts[partition] else { continue }
                found[TopicPartitionOffset(partition, offset: offset)] = timestampMs
                timestamps[partition] = (offset, timestampMs)
            }
        }
        return found
    }
}

extension PartitionLag {
    /// The JSON object of `sluice lag --json` and the dashboard's `/api/lag`.
    public func jsonObject(groupStatus: String) -> [String: Any] {
        [
            "group": group, "topic": topic, "partition": Int(partition), "committed": committed, "end": end, "lag": lag,
            "lag_seconds": (lagSeconds * 1000).rounded() / 1000, "produce_rate": (produceRate * 10).rounded() / 10,
            "consume_rate": (consumeRate * 10).rounded() / 10, "status": status.rawValue, "group_status": groupStatus,
            "owner": owner ?? NSNull(),
        ]
    }
}
