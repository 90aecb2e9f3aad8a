import Foundation
import Logging
import SluiceFunctions
import SluiceKafka
import SluiceRecords
import SluiceRegistry
import Synchronization

/// What `sluice deploy status NAME` shows: the version taking invocations, the canary and its share, the
/// state (`stable`, `baking`, `promoted`, `rolled_back`), the canary's figures against the stable
/// version's (live while it bakes, else those of the decision), and the function's latest deploy event.
public struct DeploymentStatus: Sendable {
    public enum State: String, Sendable {
        case stable, baking, promoted
        case rolledBack = "rolled_back"
    }

    public var name: String
    public var stableVersion: Int
    public var canaryVersion: Int?
    public var canaryPercent: Int
    public var canarySince: String?
    public var state: State
    public var canary: DeployEvent.Figures?
    public var stable: DeployEvent.Figures?
    /// The latest event of the function on `sluice.deployments` that moved `live` (not an alias change).
    public var lastEvent: DeployEvent?
    /// Named aliases and the versions they run.
    public var aliases: [String: Int] = [:]

    /// Reads the registry, the deployments topic and (while a canary bakes) the invocation log's tail.
    /// - Throws: `DeployRefusal` when the function is not deployed; `KafkaError`.
    public static func read(
        name: String, connection: KafkaConnection, topics: PlatformTopics = .standard,
        admission: SpecAdmission = SpecAdmission(), logger: Logger = Logger(label: "sluice.deploy")
    ) async throws -> DeploymentStatus {
        let registry = try await FunctionRegistry.load(
            connection: connection, topic: topics.functions, admission: admission, logger: logger)
        let spec = registry.function(named: name)
        await registry.close()
        guard let spec else { throw DeployRefusal(message: "function \(name) is not deployed") }
        let latest = Mutex<DeployEvent?>(nil)
        try await readTail(topics.deployments, records: 10_000, connection: connection, logger: logger) { record in
            guard record.key == Array(name.utf8), let event = DeployEvent.decode(record.value), event.function == name,
                event.eventType.changesLive
            else { return }
            latest.withLock { $0 = event }
        }
        var status = DeploymentStatus(
            name: name, stableVersion: spec.version, canaryVersion: spec.canary?.spec.version,
            canaryPercent: spec.canary?.percent ?? 0, canarySince: spec.canary?.startedAt, state: .stable,
            lastEvent: latest.withLock { $0 }, aliases: (spec.aliases ?? [:]).mapValues(\.version))
        if let canary = spec.canary {
            status.state = .baking
            let now = Date().timeIntervalSince1970
            let window = Mutex(CanaryJudge.window(stable: spec, canary: canary, now: now))
            try await readTail(topics.invocationLog, records: 5_000, connection: connection, logger: logger) {
                record in
                guard record.headerText(SluiceHeader.function) == name, let attempt = LoggedAttempt(record) else {
                    return
                }
                window.withLock { attempt.note(in: &$0) }
            }
            (_, status.canary, status.stable) = window.withLock { $0.verdict(now: now) }
        } else if let event = status.lastEvent, event.eventType == .promoted || event.eventType == .rolledBack,
            event.toVersion == spec.version
        {
            status.state = event.eventType == .promoted ? .promoted : .rolledBack
            (status.canary, status.stable) = (event.canary, event.stable)
        }
        return status
    }

    static func readTail(
        _ topic: String, records: Int64, connection: KafkaConnection, logger: Logger,
        _ body: @escaping @Sendable (ConsumerRecord) async -> Void
    ) async throws {
        let follower = try await TopicFollower.open(
            topic, from: TopicPartitionOffset.tail(records), connection: connection, fetchWaitMaxMs: 100, logger: logger
        )
        defer { follower.finish() }
        try await follower.readToEnd(timeout: .seconds(30), body)
        await follower.close()
    }

    /// `{name, stable_version, canary_version, canary_percent, canary_since, state, canary, stable,
    /// last_event, aliases}`, as `sluice deploy status --json` prints it.
    public var jsonObject: [String: Any] {
        func figures(_ figures: DeployEvent.Figures?) -> Any {
            guard let figures else { return NSNull() }
            return [
                "version": figures.version, "invocations": figures.invocations, "errors": figures.errors,
                "error_rate": figures.errorRate, "p99_ms": figures.p99Ms as Any,
            ] as [String: Any]
        }
        let event = lastEvent.flatMap { try? JSONSerialization.jsonObject(with: Data($0.encoded())) }
        return [
            "name": name, "stable_version": stableVersion, "canary_version": canaryVersion as Any,
            "canary_percent": canaryPercent, "canary_since": canarySince as Any, "state": state.rawValue,
            "canary": figures(canary), "stable": figures(stable), "last_event": event ?? NSNull(), "aliases": aliases,
        ]
    }
}
