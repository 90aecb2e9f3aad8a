import Foundation
import Logging
import ServiceLifecycle
import SluiceFunctions
import SluiceKafka
import SluiceRecords
import Synchronization

/// The in-memory view of the registry topic (`sluice.functions`) every component keeps: built by reading
/// the topic to its end, then kept current by `run()` — a deploy takes effect without restarting anything.
public final class FunctionRegistry: Service, Sendable {
    private struct State {
        var functions: [String: FunctionSpec] = [:]
        /// The functions of each trigger topic, by name: the router asks per event, and sorting every
        /// function per event cost a registry of 1,000 functions most of the router's time.
        var subscribers: [String: [FunctionSpec]] = [:]
        /// The latest refused records (at most `refusalsKept`), oldest first.
        var refusals: [Refusal] = []
        var generation = 0
        var watchers: [CheckedContinuation<Void, Never>] = []

        /// Sets (nil: removes) the function under `key` and keeps `subscribers` in step.
        mutating func replace(_ key: String, with spec: FunctionSpec?) {
            if let old = functions[key] {
                for topic in Set(old.manifest.eventTriggers) {
                    subscribers[topic]?.removeAll { $0.name == old.name }
                    if subscribers[topic]?.isEmpty == true { subscribers[topic] = nil }
                }
            }
            functions[key] = spec
            guard let spec else { return }
            for topic in Set(spec.manifest.eventTriggers) {
                var list = subscribers[topic] ?? []
                list.insert(spec, at: list.firstIndex { $0.name > spec.name } ?? list.count)
                subscribers[topic] = list
            }
        }
    }
    /// A registry record that was not applied, and why.
    public struct Refusal: Sendable {
        public let key: String
        public let offset: Int64
        public let reason: String
    }

    static let refusalsKept = 100

    /// The registry topic.
    public let topic: String
    /// What a record must pass to be applied.
    public let admission: SpecAdmission
    private let state = Mutex(State())
    private let follower: TopicFollower
    private let logger: Logger

    private init(topic: String, admission: SpecAdmission, follower: TopicFollower, logger: Logger) {
        self.topic = topic
        self.admission = admission
        self.follower = follower
        self.logger = logger
    }

    /// Reads the registry topic to its current end (tombstones and compaction included). Records that
    /// `admission` refuses are not applied: the function keeps its previous version, and the refusal is
    /// logged and kept in `refusals`.
    /// - Throws: `KafkaError` (unreachable broker, missing topic — run `sluice topics apply`, or a read
    ///   that does not reach the end within `timeout`).
    public static func load(
        connection: KafkaConnection, topic: String = PlatformTopics.standard.functions,
        timeout: Duration = .seconds(60), admission: SpecAdmission = SpecAdmission(),
        logger: Logger = Logger(label: "sluice.registry")
    ) async throws -> FunctionRegistry {
        let follower: TopicFollower
        do {
            follower = try await TopicFollower.open(
                topic, from: TopicPartitionOffset.beginning, connection: connection, fetchWaitMaxMs: 100, logger: logger
            )
        } catch let error as KafkaError where error.code == .unknownTopic {
            throw KafkaError(
                .unknownTopic,
                "the registry topic \(topic) does not exist on \(connection.brokerList); run `sluice topics apply`")
        }
        let registry = FunctionRegistry(topic: topic, admission: admission, follower: follower, logger: logger)
        do {
            try await follower.readToEnd(timeout: timeout) { registry.apply($0) }
        } catch {
            await follower.close()
            throw error
        }
        return registry
    }

    /// Applies new registry records until cancelled or a graceful shutdown, then closes the registry.
    public func run() async throws {
        await withTaskCancellationOrGracefulShutdownHandler {
            await follower.forEachRecord { self.apply($0) }
        } onCancelOrGracefulShutdown: {
            self.follower.finish()
        }
    }

    /// Stops following (for a registry that was loaded and never run).
    public func close() async { await follower.close() }

    private func apply(_ record: ConsumerRecord) {
        guard let key = record.keyText, key.utf8.count <= 255 else {
            return refuse(
                key: String(decoding: (record.key ?? []).prefix(64), as: UTF8.self), record, "no readable key")
        }
        var spec: FunctionSpec?
        if let value = record.value {
            do {
                spec = try FunctionSpec.decode(value)
            } catch {
                return refuse(key: key, record, "unreadable: \(String(describing: error).prefix(300))")
            }
            if let spec, let problem = admission.problem(with: spec, key: key, current: function(named: key)) {
                return refuse(key: key, record, problem)
            }
        }
        let watchers = state.withLock { state in
            state.replace(key, with: spec)
            state.generation += 1
            defer { state.watchers = [] }
            return state.watchers
        }
        for watcher in watchers { watcher.resume() }
    }

    private func refuse(key: String, _ record: ConsumerRecord, _ reason: String) {
        logger.warning(
            "refusing a registry record",
            metadata: ["function": "\(key)", "offset": "\(record.offset)", "reason": "\(reason)"])
        let watchers = state.withLock { state in
            state.refusals.append(Refusal(key: key, offset: record.offset, reason: reason))
            state.refusals.removeFirst(max(0, state.refusals.count - Self.refusalsKept))
            state.generation += 1
            defer { state.watchers = [] }
            return state.watchers
        }
        for watcher in watchers { watcher.resume() }
    }

    /// The latest refused records, oldest first.
    public var refusals: [Refusal] { state.withLock { $0.refusals } }

    /// The current version of a function, nil when not deployed (or deleted).
    public func function(named name: String) -> FunctionSpec? {
        state.withLock { $0.functions[name] }
    }

    public var all: [FunctionSpec] {
        state.withLock { Array($0.functions.values) }.sorted { $0.name < $1.name }
    }

    /// Functions triggered by `topic`, by name.
    public func subscribers(of topic: String) -> [FunctionSpec] {
        state.withLock { $0.subscribers[topic] ?? [] }
    }

    /// Every trigger topic of every function.
    public var triggerTopics: Set<String> {
        state.withLock { Set($0.subscribers.keys) }
    }

    /// Counts changes; compare before and after `waitForChange`.
    public var generation: Int { state.withLock { $0.generation } }

    /// Returns after the next change to the registry (or when the task is cancelled).
    public func waitForChange() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume()
                    return
                }
                state.withLock { $0.watchers.append(continuation) }
            }
        } onCancel: {
            let watchers = state.withLock { state in
                defer { state.watchers = [] }
                return state.watchers
            }
            for watcher in watchers { watcher.resume() }
        }
    }
}
