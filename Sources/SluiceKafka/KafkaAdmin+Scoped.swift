import Logging
import SluiceRecords
import SluiceSupport

extension KafkaAdmin {
    /// Runs `body` with an admin client that is closed when it returns or throws.
    public static func with<T: Sendable>(
        _ connection: KafkaConnection, logger: Logger = Logger(label: "sluice.kafka"),
        _ body: (KafkaAdmin) async throws -> T
    ) async throws -> T {
        let admin = try make(connection, logger: logger)
        return try await closing(close: admin.close) { try await body(admin) }
    }

    /// The high watermark of every partition of `topics`, read with a short-lived admin client.
    public static func highWatermarks(
        topics: [String], connection: KafkaConnection, logger: Logger = Logger(label: "sluice.kafka")
    ) async throws -> [TopicPartition: Int64] {
        try await with(connection, logger: logger) { try await $0.highWatermarks(topics: topics) }
    }
}
