import Foundation
import SluiceKafka
import SluiceRecords
import SluiceSupport

/// Invokes a function through Kafka: publishes one invocation request and awaits its final result (the
/// result record whose `sluice-final` is not `false`). What `sluice invoke` does.
public struct Invoker: Sendable {
    public let connection: KafkaConnection
    public var topics = PlatformTopics.standard

    public init(connection: KafkaConnection) {
        self.connection = connection
    }

    /// A result record, read back.
    public struct Result: Sendable {
        /// The record's value as it is (`sluice invoke --json` prints it).
        public let value: [UInt8]
        public let status: String
        public let error: String
        /// The function's output as compact JSON with sorted keys (`null` when there is none).
        public let output: [UInt8]
        /// For an attempt that will be retried: "attempt N failed (status): error; retry at T".
        public let retryLine: String

        init(_ value: [UInt8]) {
            self.value = value
            let object = (try? JSONSerialization.jsonObject(with: Data(value))) as? [String: Any] ?? [:]
            status = object["status"] as? String ?? "?"
            error = object["error"] as? String ?? ""
            output = Array(
                (try? JSONSerialization.data(
                    withJSONObject: object["output"] ?? NSNull(),
                    options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes])) ?? Data("null".utf8))
            retryLine =
                "attempt \(object["attempt"] as? Int ?? 0) failed (\(status)): \(error); retry at \(object["retry_at"] as? String ?? "?")"
        }

        public var succeeded: Bool { status == "success" }
    }

    /// Returns the final result, or nil when none came within `wait`. `alias`: the function's alias to
    /// run (nil: `live`). `failedAttempt` gets the result of each attempt that will be retried.
    public func invoke(
        _ function: String, alias: String? = nil, event: [UInt8], key: [UInt8]?, wait: Duration,
        failedAttempt: @escaping @Sendable (Result) -> Void = { _ in }
    ) async throws -> Result? {
        // Results are read from their current end before publishing, so the result cannot be missed. (A
        // request sent twice by a retry has one invocation id: workers run it once.)
        let producer = try KafkaProducer.make(.shortLived(connection: connection))
        let marks: [TopicPartition: Int64]
        do {
            marks = try await KafkaAdmin.highWatermarks(topics: [topics.results], connection: connection)
        } catch {
            await producer.close()
            throw error
        }
        let consumer = try KafkaConsumer.make(ConsumerConfiguration(connection: connection))
        return try await closing(close: consumer.close) {
            try await consumer.assign(marks.map { TopicPartitionOffset($0.key, offset: $0.value) })
            let id = InvocationRequest.randomID()
            var request = InvocationRequest(
                invocationID: id, function: function, trigger: "invoke", key: key, value: event, traceParent: .start())
            request.alias = alias
            _ = try await closing(close: producer.close) {
                try await producer.send(request.producerRecord(topic: topics.invocations))
            }
            let wanted = Array(id.utf8)
            let result = await withTimeout(wait, onTimeout: { consumer.finishEvents() }) { () async -> Result? in
                for await event in consumer.events {
                    guard case .record(let record) = event, record.key == wanted else { continue }
                    if !record.header(SluiceHeader.final, is: "false") { return Result(record.value ?? []) }
                    failedAttempt(Result(record.value ?? []))
                }
                return nil
            }
            return result ?? nil
        }
    }
}
