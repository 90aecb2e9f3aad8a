import Foundation
import Logging
import SluiceKafka
import Synchronization

/// The in-memory view of `sluice.functions` every component keeps: built by reading the topic to its
/// end, then kept current by `follow()` — a deploy takes effect without restarting anything.
public final class FunctionRegistry: Sendable {
    public static let topic = "sluice.functions"

    private struct State {
        var functions: [String: FunctionSpec] = [:]
        var generation = 0
        var watchers: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())
    private let consumer: KafkaConsumer
    private let logger: Logger

    private init(consumer: KafkaConsumer, logger: Logger) {
        self.consumer = consumer
        self.logger = logger
    }

    /// Reads the registry topic to its current end.
    /// - Throws: `KafkaError` (unreachable broker, missing topic — run `sluice topics apply`).
    public static func load(connection: KafkaConnection, logger: Logger = Logger(label: "sluice.registry")) async throws -> FunctionRegistry {
        let admin = try KafkaAdmin.make(connection)
        defer { Task { await admin.close() } }
        guard try await admin.topic(topic) != nil else {
            throw KafkaError(.unknownTopic, "the registry topic \(topic) does not exist on \(connection.brokerList); run `sluice topics apply`")
        }
        let marks = try await admin.highWatermarks(topics: [topic])
        let consumer = try KafkaConsumer.make(ConsumerConfiguration(connection: connection), logger: logger)
        try consumer.assign(marks.keys.map { TopicPartitionOffset($0, offset: TopicPartitionOffset.beginning) })
        let registry = FunctionRegistry(consumer: consumer, logger: logger)
        var remaining = marks.filter { $0.value > 0 }
        var iterator = consumer.events.makeAsyncIterator()
        while !remaining.isEmpty, let event = await iterator.next() {
            guard case .record(let record) = event else { continue }
            registry.apply(record)
            if let end = remaining[record.topicPartition], record.offset + 1 >= end { remaining[record.topicPartition] = nil }
        }
        return registry
    }

    /// Applies new registry records until the task is cancelled.
    public func follow() async {
        for await event in consumer.events {
            if case .record(let record) = event { apply(record) }
        }
    }

    /// Stops following.
    public func close() async { await consumer.close() }

    private func apply(_ record: ConsumerRecord) {
        guard let key = record.key.map({ String(decoding: $0, as: UTF8.self) }) else { return }
        var spec: FunctionSpec?
        if let value = record.value {
            do {
                spec = try FunctionSpec.decode(value)
            } catch {
                logger.warning("skipping an unreadable registry record", metadata: ["function": "\(key)", "offset": "\(record.offset)", "error": "\(error)"])
                return
            }
        }
        let watchers = state.withLock { state in
            state.functions[key] = spec
            state.generation += 1
            defer { state.watchers = [] }
            return state.watchers
        }
        for watcher in watchers { watcher.resume() }
    }

    /// The current version of a function, nil when not deployed (or deleted).
    public func function(named name: String) -> FunctionSpec? {
        state.withLock { $0.functions[name] }
    }

    public var all: [FunctionSpec] {
        state.withLock { Array($0.functions.values) }.sorted { $0.name < $1.name }
    }

    /// Functions triggered by `topic`.
    public func subscribers(of topic: String) -> [FunctionSpec] {
        all.filter { $0.manifest.eventTriggers.contains(topic) }
    }

    /// Every trigger topic of every function.
    public var triggerTopics: Set<String> {
        Set(all.flatMap(\.manifest.eventTriggers))
    }

    /// Counts changes; compare before and after `waitForChange`.
    public var generation: Int { state.withLock { $0.generation } }

    /// Returns after the next change to the registry (or when the task is cancelled).
    public func waitForChange() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled { continuation.resume(); return }
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
