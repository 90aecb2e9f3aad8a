import Foundation
import Logging
import SluiceKafka
import Synchronization

/// The invocation ids that already have a `success` result, read from `sluice.results`, so a redelivered
/// request is not run twice. The window is the last `windowPerPartition` results of each partition
/// (default 100 000), read at start and followed live.
public final class SuccessIndex: Sendable {
    public static let topic = "sluice.results"
    private let succeeded = Mutex<Set<String>>([])
    private let position = Mutex<[TopicPartition: Int64]>([:])
    private let consumer: KafkaConsumer
    private let connection: KafkaConnection
    private let progress = Mutex<[CheckedContinuation<Void, Never>]>([])

    private init(consumer: KafkaConsumer, connection: KafkaConnection) {
        self.consumer = consumer
        self.connection = connection
    }

    public static func start(connection: KafkaConnection, windowPerPartition: Int64 = 100_000, logger: Logger) async throws -> SuccessIndex {
        let admin = try KafkaAdmin.make(connection, logger: logger)
        defer { Task { await admin.close() } }
        let marks = try await admin.highWatermarks(topics: [topic])
        var configuration = ConsumerConfiguration(connection: connection)
        configuration.bufferCapacity = 50_000
        let consumer = try KafkaConsumer.make(configuration, logger: logger)
        try consumer.assign(marks.map { TopicPartitionOffset($0.key, offset: max(0, $0.value - windowPerPartition)) })
        return SuccessIndex(consumer: consumer, connection: connection)
    }

    /// Applies results until cancelled.
    public func follow() async {
        for await event in consumer.events {
            guard case .record(let record) = event else { continue }
            if let id = record.key.map({ String(decoding: $0, as: UTF8.self) }), Self.isSuccess(record.value) {
                _ = succeeded.withLock { $0.insert(id) }
            }
            position.withLock { $0[record.topicPartition] = record.offset + 1 }
            let waiters = progress.withLock { waiters in
                defer { waiters = [] }
                return waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    public func close() async { await consumer.close() }

    public func hasSucceeded(_ invocationID: String) -> Bool {
        succeeded.withLock { $0.contains(invocationID) }
    }

    /// Records a success this process wrote itself.
    public func noteSuccess(_ invocationID: String) {
        _ = succeeded.withLock { $0.insert(invocationID) }
    }

    /// Waits until every result that exists now has been read (run before taking over partitions).
    public func catchUp(timeout: Duration = .seconds(30)) async throws {
        let admin = try KafkaAdmin.make(connection)
        let marks = try await admin.highWatermarks(topics: [Self.topic])
        await admin.close()
        let deadline = ContinuousClock.now + timeout
        while !marks.allSatisfy({ mark in mark.value == 0 || position.withLock({ $0[mark.key] ?? 0 }) >= mark.value }) {
            guard ContinuousClock.now < deadline else {
                throw KafkaError(.timedOut, "the results index did not catch up with \(Self.topic) within \(timeout)")
            }
            // Woken by the next result read (or re-checked after 100 ms while the index is idle).
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await withCheckedContinuation { c in self.progress.withLock { $0.append(c) } } }
                group.addTask { try? await Task.sleep(for: .milliseconds(100)) }
                await group.next()
                group.cancelAll()
                let waiters = self.progress.withLock { waiters in
                    defer { waiters = [] }
                    return waiters
                }
                for waiter in waiters { waiter.resume() }
            }
        }
    }

    /// Whether a result value has `"status":"success"` (cheap check before a full parse).
    static func isSuccess(_ value: [UInt8]?) -> Bool {
        guard let value else { return false }
        let needle = Array("\"status\":\"success\"".utf8)
        return value.withUnsafeBufferPointer { buffer in
            guard buffer.count >= needle.count else { return false }
            for start in 0...(buffer.count - needle.count) where buffer[start] == needle[0] {
                if Array(buffer[start..<(start + needle.count)]) == needle { return true }
            }
            return false
        }
    }
}
