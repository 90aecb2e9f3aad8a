import Foundation
import Logging
import Metrics
import SluiceKafka
import SluiceLag
import SluiceRecords

/// What the dashboard shows, kept current by background tasks: the lag engine sampled every second
/// (with the last hour of lag per partition), per-function figures from `sluice.invocation-log`, dead
/// letters per function from `sluice.dlq`, and warm processes from the workers' load samples on
/// `sluice.scaling`.
public actor DashboardState {
    public struct Options: Sendable {
        public var logTopic = PlatformTopics.standard.invocationLog
        public var deadLetterTopic = PlatformTopics.standard.deadLetters
        public var scalingTopic = PlatformTopics.standard.scaling
        public var deploymentsTopic = PlatformTopics.standard.deployments
        /// Only these consumer groups (nil: all).
        public var groups: Set<String>?
        /// Seconds of per-function history behind rates and percentiles.
        public var functionWindow: Double = 60
        public var lagHistorySeconds: Double = 3600
        /// Invocation-log records read per partition at start: the dashboard of a platform with a week of
        /// logs starts in seconds, and its totals count from there.
        public var logHistoryPerPartition: Int64 = 10_000
        /// Records of the scaling topic read at start (per partition): it carries every worker's load
        /// sample each second, and the page shows only the latest decisions of each function.
        public var scalingHistoryPerPartition: Int64 = 2_000
        public init() {}
    }

    /// Figures of one function.
    public struct FunctionFigures: Sendable {
        public var name: String
        public var invocationsTotal = 0
        public var errorsTotal = 0
        /// (seconds since the epoch, duration ms, cold start, failed, version) of recent invocations.
        var recent: [(time: Double, durationMs: Double, cold: Bool, failed: Bool, version: Int)] = []
        public var warmProcesses = 0
    }

    struct LagPoint: Sendable {
        var time: Double
        var lag: Int64
        var lagSeconds: Double
    }

    let connection: KafkaConnection
    let options: Options
    let logger: Logger
    private let engine: LagEngine
    private let roster = WorkerRoster()
    private(set) var groups: [GroupLag] = []
    private var topics: [TopicMetadata] = []
    private var lagHistory: [String: [LagPoint]] = [:]
    var functions: [String: FunctionFigures] = [:]
    var deadLetters = DeadLetterDepth()
    /// The live workers' latest load samples (from the roster, refreshed with every lag sample).
    var workerSamples: [LoadSample] = []
    /// The latest Scaling Events (the autoscaler's decisions) of each function.
    private var decisions = DecisionLog()
    /// The latest deploy events of each function (`sluice.deployments`).
    var deployments = DecisionLog(keyField: "function", perFunction: 5)

    public init(
        connection: KafkaConnection, options: Options = Options(), logger: Logger = Logger(label: "sluice.dashboard")
    ) throws {
        self.connection = connection
        self.options = options
        self.logger = logger
        var lagOptions = LagEngine.Options()
        lagOptions.groups = options.groups
        lagOptions.roster = roster
        engine = try LagEngine(connection: connection, options: lagOptions, logger: logger)
    }

    /// Runs the samplers and followers until cancelled.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.sampleLag() }
            let history = TopicPartitionOffset.tail(options.logHistoryPerPartition)
            group.addTask { await self.follow(self.options.logTopic, from: history) { await self.applyLog($0) } }
            group.addTask { await self.follow(self.options.deadLetterTopic) { await self.applyDeadLetter($0) } }
            let recentScaling = TopicPartitionOffset.tail(options.scalingHistoryPerPartition)
            group.addTask {
                await self.follow(self.options.scalingTopic, from: recentScaling) { await self.applyScaling($0) }
            }
            group.addTask {
                await self.follow(self.options.deploymentsTopic, from: TopicPartitionOffset.tail(2_000)) {
                    await self.applyDeployment($0)
                }
            }
        }
    }

    private func sampleLag() async {
        let admin = try? KafkaAdmin.make(connection, logger: logger)
        do { try await roster.start(connection: connection, topic: options.scalingTopic, logger: logger) } catch {
            logger.warning(
                "partition owners unknown: cannot follow \(options.scalingTopic)", metadata: ["error": "\(error)"])
        }
        while !Task.isCancelled {
            do {
                let sampled = try await engine.sample()
                let now = Date().timeIntervalSince1970
                for group in sampled {
                    for partition in group.partitions {
                        let dimensions = [
                            ("group", partition.group), ("topic", partition.topic),
                            ("partition", String(partition.partition)),
                        ]
                        Gauge(label: "sluice_consumer_lag", dimensions: dimensions).record(partition.lag)
                        Gauge(label: "sluice_consumer_lag_seconds", dimensions: dimensions).record(partition.lagSeconds)
                        let key = "\(partition.group)|\(partition.topic)|\(partition.partition)"
                        lagHistory[key, default: []].append(
                            LagPoint(time: now, lag: partition.lag, lagSeconds: partition.lagSeconds))
                        lagHistory[key]?.removeAll { now - $0.time > options.lagHistorySeconds }
                    }
                }
                groups = sampled
                workerSamples = await roster.samples()
                if let admin { topics = (try? await admin.topics().filter { !$0.name.hasPrefix("__") }) ?? topics }
            } catch {
                logger.warning("lag sample failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
        await admin?.close()
        await engine.close()
        await roster.close()
    }

    /// Reads `topic` from `offset` (its beginning by default) and keeps following it.
    private func follow(
        _ topic: String, from offset: Int64 = TopicPartitionOffset.beginning,
        _ apply: @Sendable (ConsumerRecord) async -> Void
    ) async {
        do {
            let follower = try await TopicFollower.open(topic, from: offset, connection: connection, logger: logger)
            await follower.forEachRecord(apply)
        } catch {
            logger.warning("cannot follow \(topic)", metadata: ["error": "\(error)"])
        }
    }

    private func applyLog(_ record: ConsumerRecord) {
        guard let value = record.value,
            let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any],
            let function = object["function"] as? String
        else { return }
        let failed = (object["status"] as? String ?? "success") != "success"
        var figures = functions[function] ?? FunctionFigures(name: function)
        figures.invocationsTotal += 1
        if failed { figures.errorsTotal += 1 }
        let time = record.timestampMs > 0 ? Double(record.timestampMs) / 1000 : Date().timeIntervalSince1970
        let version = object["version"] as? Int ?? 0
        figures.recent.append(
            (time, object["duration_ms"] as? Double ?? 0, object["cold_start"] as? Bool ?? false, failed, version))
        if figures.recent.count > 50_000 { figures.recent.removeFirst(figures.recent.count - 50_000) }
        functions[function] = figures
    }

    private func applyDeadLetter(_ record: ConsumerRecord) {
        deadLetters.note(record)
        for function in deadLetters.functions where functions[function] == nil {
            functions[function] = FunctionFigures(name: function)
        }
    }

    /// Keeps the Scaling Events of `sluice.scaling` (its load samples reach the dashboard through the roster).
    private func applyScaling(_ record: ConsumerRecord) {
        // A Scaling Event is a few hundred bytes; anything far larger on the topic is not one.
        guard let value = record.value, value.count <= Self.maxScalingEventBytes,
            let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any],
            object["event_id"] != nil
        else { return }
        decisions.note(object)
    }

    /// Keeps the deploy events of `sluice.deployments` (checked: `DeployEvent.decode`).
    private func applyDeployment(_ record: ConsumerRecord) {
        guard let event = DeployEvent.decode(record.value),
            let object = try? JSONSerialization.jsonObject(with: Data(event.encoded())) as? [String: Any]
        else { return }
        deployments.note(object)
    }

    // MARK: - The JSON API

    static let maxScalingEventBytes = 64 << 10

    public enum API: String, Sendable, CaseIterable { case lag, groups, topics, functions, scaling, deployments }

    /// The JSON body of `/api/<api>`.
    public func json(_ api: API) -> Data {
        let value: [[String: Any]]
        switch api {
        case .lag: value = lagRows()
        case .groups: value = groupObjects()
        case .topics: value = topicObjects()
        case .functions: value = functionObjects()
        case .scaling: value = decisions.events
        case .deployments: value = deployments.events
        }
        return (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])) ?? Data("[]".utf8)
    }

    /// `/api/lag`: the rows of `sluice lag --json`.
    func lagRows() -> [[String: Any]] {
        groups.flatMap { group in group.partitions.map { $0.jsonObject(groupStatus: group.status) } }
    }

    /// `/api/groups`: per group, its status, total lag, worst lag time, and lag over time (summed over its
    /// partitions, one point a second, the last hour).
    func groupObjects() -> [[String: Any]] {
        groups.map { group in
            var series: [Double: (Int64, Double)] = [:]
            for partition in group.partitions {
                for point in lagHistory["\(group.group)|\(partition.topic)|\(partition.partition)"] ?? [] {
                    let second = point.time.rounded(.down)
                    let previous = series[second] ?? (0, 0)
                    series[second] = (previous.0 + point.lag, max(previous.1, point.lagSeconds))
                }
            }
            return [
                "group": group.group, "state": group.state, "members": group.members, "status": group.status,
                "lag": group.totalLag,
                "lag_seconds": (group.maxLagSeconds * 1000).rounded() / 1000, "partitions": group.partitions.count,
                "history": series.keys.sorted().map { ["t": $0, "lag": series[$0]!.0, "lag_seconds": series[$0]!.1] },
            ]
        }
    }

    /// `/api/topics`: every topic with its partitions, end offsets and produce rate.
    func topicObjects() -> [[String: Any]] {
        var ends: [String: Int64] = [:]
        var rates: [String: Double] = [:]
        var seen = Set<String>()
        for group in groups {
            for partition in group.partitions where seen.insert("\(partition.topic)|\(partition.partition)").inserted {
                ends[partition.topic, default: 0] += partition.end
                rates[partition.topic, default: 0] += partition.produceRate
            }
        }
        return topics.sorted { $0.name < $1.name }.map { topic in
            [
                "topic": topic.name, "partitions": topic.partitions.count, "end_offsets": ends[topic.name] ?? NSNull(),
                "produce_rate": rates[topic.name].map { ($0 * 10).rounded() / 10 } ?? NSNull(),
            ]
        }
    }
}
