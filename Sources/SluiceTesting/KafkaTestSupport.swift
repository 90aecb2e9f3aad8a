import Foundation
import SluiceKafka
import SluiceRecords

/// Creates a topic with a unique name on the test broker and returns its name.
public func makeTestTopic(_ prefix: String, partitions: Int, configs: [String: String] = [:]) async throws -> String {
    let name = uniqueName(prefix)
    let result = try await KafkaAdmin.with(try await TestBroker.connection()) {
        try await $0.createTopics([NewTopic(name: name, partitions: partitions, configs: configs)])
    }
    guard result[name] == .created else {
        throw TestSetupError("topic \(name) was not created: \(String(describing: result[name]))")
    }
    return name
}

/// Creates topics with exactly these names (for names that must follow a pattern, like retry tiers).
public func makeTopics(_ names: [String], partitions: Int) async throws {
    let result = try await KafkaAdmin.with(try await TestBroker.connection()) {
        try await $0.createTopics(names.map { NewTopic(name: $0, partitions: partitions) })
    }
    for name in names where result[name] != .created {
        throw TestSetupError("topic \(name) was not created: \(String(describing: result[name]))")
    }
}

/// Reads events until `count` records arrived; other events go to `onEvent`.
public func readRecords(
    _ consumer: KafkaConsumer, count: Int, timeout: Duration = .seconds(60),
    onEvent: @escaping @Sendable (ConsumerEvent) -> Void = { _ in }
) async throws -> [ConsumerRecord] {
    try await withDeadline(timeout, "reading \(count) records") {
        var records: [ConsumerRecord] = []
        for await event in consumer.events {
            if case .record(let record) = event {
                records.append(record)
                if records.count == count { break }
            } else {
                onEvent(event)
            }
        }
        return records
    }
}

/// A setup step of a test failed (not the behaviour under test).
public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Lets tests wait for a condition over shared state without sleeping: every change re-checks waiters.
public actor Observed<State: Sendable> {
    public private(set) var state: State
    private var waiters:
        [(id: UUID, predicate: @Sendable (State) -> Bool, continuation: CheckedContinuation<Void, Never>)] = []

    public init(_ state: State) {
        self.state = state
    }

    /// Changes the state and wakes the waiters whose condition now holds.
    public func update<R: Sendable>(_ change: @Sendable (inout State) -> R) -> R {
        let result = change(&state)
        let current = state
        var still: [(id: UUID, predicate: @Sendable (State) -> Bool, continuation: CheckedContinuation<Void, Never>)] =
            []
        for waiter in waiters {
            if waiter.predicate(current) { waiter.continuation.resume() } else { still.append(waiter) }
        }
        waiters = still
        return result
    }

    /// Returns once `predicate` holds, or when the task is cancelled (callers bound this with
    /// `withDeadline`, which cancels it when the time is up).
    public func wait(until predicate: @escaping @Sendable (State) -> Bool) async {
        if predicate(state) { return }
        let id = UUID()
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled { continuation.resume() } else { waiters.append((id, predicate, continuation)) }
            }
        } onCancel: {
            Task { await self.endWait(id) }
        }
    }

    private func endWait(_ id: UUID) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).continuation.resume()
    }
}
