import Foundation
import Logging
import Metrics
import ServiceLifecycle
import SluiceArtifacts
import SluiceFunctions
import SluiceKafka
import SluiceRecords
import SluiceRegistry
import Synchronization

/// Promotes or rolls back baking canaries on its own. It follows the registry (which functions have a
/// canary, since when, with which policy) and the invocation log (every attempt's version, status,
/// duration and cold start), keeps a `CanaryWindow` per canary and, every `tick`, acts on its verdict
/// through the `FunctionDeployer` — the same registry records `sluice promote` and `sluice rollback`
/// write — and tells it on `sluice.deployments` with the figures that decided.
///
/// Every log record is untrusted: one without a function header, larger than 64 KiB, not JSON, with a
/// version other than the two baking, a timestamp outside [canary start, now + 60 s] or a duration that is
/// no number is not counted. A `Service` (the supervisor runs one); a graceful shutdown stops it.
public final class CanaryJudge: Service, Sendable {
    public struct Configuration: Sendable {
        public var connection: KafkaConnection
        public var topics = PlatformTopics.standard
        public var admission = SpecAdmission()
        /// How often verdicts are taken.
        public var tick: Duration = .milliseconds(250)
        /// Invocation-log records read per partition at start (a canary that began before is judged on them).
        public var logHistoryPerPartition: Int64 = 20_000
        /// Called with a line per decision (the supervisor command prints them).
        public var report: (@Sendable (String) -> Void)?

        public init(connection: KafkaConnection) { self.connection = connection }
    }

    let configuration: Configuration
    let logger: Logger
    /// The canaries being judged, by function name.
    private let windows = Mutex<[String: CanaryWindow]>([:])
    static let maxLogRecordBytes = 64 << 10

    public init(configuration: Configuration, logger: Logger = Logger(label: "sluice.canary")) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let topics = configuration.topics
        let connection = configuration.connection
        let registry = try await FunctionRegistry.load(
            connection: connection, topic: topics.functions, admission: configuration.admission, logger: logger)
        let log: TopicFollower
        do {
            log = try await TopicFollower.open(
                topics.invocationLog, from: TopicPartitionOffset.tail(configuration.logHistoryPerPartition),
                connection: connection, fetchWaitMaxMs: 100, logger: logger)
        } catch {
            await registry.close()
            throw error
        }
        let producer = try KafkaProducer.make(ProducerConfiguration(connection: connection), logger: logger)
        let deployer = FunctionDeployer(
            producer: producer, registry: registry, signingKey: nil,
            shelf: ArtifactShelf(connection: connection, topic: topics.artifacts), versionsTopic: topics.versions,
            deploymentsTopic: topics.deployments)
        logger.info("judging canaries", metadata: ["log": "\(topics.invocationLog)"])
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { try? await registry.run() }
                group.addTask { await log.forEachRecord { self.note($0, registry: registry) } }
                group.addTask { await self.judge(registry: registry, deployer: deployer) }
            }
        }
        await log.close()
        await registry.close()
        await producer.close()
    }

    /// Counts one invocation-log record in the window of its function's canary, if one bakes.
    func note(_ record: ConsumerRecord, registry: FunctionRegistry) {
        let now = Date().timeIntervalSince1970
        guard let function = record.headerText(SluiceHeader.function), let spec = registry.function(named: function),
            let canary = spec.canary, let attempt = LoggedAttempt(record), attempt.function == function,
            attempt.time <= now + 60
        else { return }
        windows.withLock { windows in
            if !Self.judges(windows[function], stable: spec, canary: canary) {
                windows[function] = Self.window(stable: spec, canary: canary, now: now)
            }
            attempt.note(in: &windows[function]!)
        }
    }

    /// Every tick: a window for every canary the registry has (a new one when the canary changed), and
    /// the verdict of each acted on.
    private func judge(registry: FunctionRegistry, deployer: FunctionDeployer) async {
        /// `name@canary version` of canaries decided: not acted on twice before the registry shows it.
        var decided: Set<String> = []
        while !Task.isCancelled {
            let baking = registry.all.filter { $0.canary != nil }
            let now = Date().timeIntervalSince1970
            let judged = windows.withLock { windows in
                windows = windows.filter { name, _ in baking.contains { $0.name == name } }
                return baking.compactMap { spec -> (String, CanaryWindow)? in
                    guard let canary = spec.canary, !decided.contains("\(spec.name)@\(canary.spec.version)") else {
                        return nil
                    }
                    if !Self.judges(windows[spec.name], stable: spec, canary: canary) {
                        windows[spec.name] = Self.window(stable: spec, canary: canary, now: now)
                    }
                    return (spec.name, windows[spec.name]!)
                }
            }
            // Verdicts outside the lock: the log's records keep being counted meanwhile.
            let verdicts = judged.map { name, window in
                let (verdict, canaryFigures, stableFigures) = window.verdict(now: now)
                let evidence = DeployEvidence(
                    reason: "", decidedBy: "canary-judge", canary: canaryFigures, stable: stableFigures)
                return (name, window, verdict, evidence)
            }
            for (name, window, verdict, evidence) in verdicts {
                if await act(verdict, on: name, window: window, evidence: evidence, deployer: deployer) {
                    decided.insert("\(name)@\(window.canaryVersion)")
                }
            }
            decided = decided.filter { key in
                baking.contains { "\($0.name)@\($0.canary?.spec.version ?? 0)" == key }
            }
            try? await Task.sleep(for: configuration.tick)
        }
    }

    /// Whether `window` is the one of `canary` beside `stable`.
    static func judges(_ window: CanaryWindow?, stable: FunctionSpec, canary: CanaryRoute) -> Bool {
        window?.stableVersion == stable.version && window?.canaryVersion == canary.spec.version
    }

    /// A new window for `canary` beside `stable`.
    static func window(stable: FunctionSpec, canary: CanaryRoute, now: Double) -> CanaryWindow {
        let started = (try? Date(canary.startedAt, strategy: .iso8601))?.timeIntervalSince1970 ?? now
        return CanaryWindow(
            stableVersion: stable.version, canaryVersion: canary.spec.version,
            policy: canary.spec.manifest.canaryPolicy ?? .standard, startedAt: min(started, now))
    }

    /// Promotes or rolls back (true: done, or someone else already did); waiting does nothing.
    private func act(
        _ verdict: CanaryWindow.Verdict, on name: String, window: CanaryWindow, evidence: DeployEvidence,
        deployer: FunctionDeployer
    ) async -> Bool {
        var evidence = evidence
        let action: String
        do {
            switch verdict {
            case .wait: return false
            case .promote(let reason):
                evidence.reason = reason
                action = "promoted"
                _ = try await deployer.promote(name: name, evidence: evidence)
            case .rollBack(let reason):
                evidence.reason = reason
                action = "rolled back"
                _ = try await deployer.rollback(name: name, evidence: evidence)
            }
        } catch let refusal as DeployRefusal {
            logger.info("canary already decided", metadata: ["function": "\(name)", "reason": "\(refusal)"])
            return true
        } catch {
            logger.error("cannot act on a canary verdict", metadata: ["function": "\(name)", "error": "\(error)"])
            return false
        }
        Counter(label: "sluice_canary_decisions_total", dimensions: [("decision", action)]).increment()
        let line = "\(name): canary version \(window.canaryVersion) \(action): \(evidence.reason)"
        logger.notice("canary \(action)", metadata: ["function": "\(name)", "reason": "\(evidence.reason)"])
        configuration.report?(line)
        return true
    }
}
