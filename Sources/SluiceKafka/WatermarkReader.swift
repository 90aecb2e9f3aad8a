import CRdKafka
import Foundation
import Logging
import SluiceRecords
import SluiceSupport

/// Reads high watermarks from Fetch responses: a group-less consumer is assigned each partition at its end
/// and the watermark librdkafka cached from the first Fetch response is taken.
enum WatermarkReader {
    static func read(_ partitions: [TopicPartition], connection: KafkaConnection, logger: Logger) async throws
        -> [TopicPartition: Int64]
    {
        guard !partitions.isEmpty else { return [:] }
        var configuration = ConsumerConfiguration(connection: connection)
        configuration.reportPartitionEOF = true
        var properties = configuration.properties
        properties["fetch.wait.max.ms"] = "10"
        properties["fetch.max.bytes"] = "65536"
        properties["message.max.bytes"] = "65536"
        properties["max.partition.fetch.bytes"] = "1024"
        let client = try RDKafkaClient.make(kind: .consumer, properties: properties, events: 0, logger: logger)
        return try await BlockingCalls.run {
            client.learnLeaders(of: Set(partitions.map(\.topic)), timeoutMs: Int32(connection.timeoutMs))
            return try client.withHandle { handle in
                let err = TopicPartitionList.with(
                    partitions.map { TopicPartitionOffset($0, offset: TopicPartitionOffset.end) }
                ) {
                    rd_kafka_assign(handle, $0)
                }
                if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.rd(err, "cannot read high watermarks") }
                var found: [TopicPartition: Int64] = [:]
                let deadline = Date().addingTimeInterval(Double(connection.timeoutMs) / 1000)
                while found.count < partitions.count {
                    if Date() > deadline {
                        throw KafkaError(
                            .unreachable, client.unreachableMessage(waitedMs: connection.timeoutMs), retriable: true)
                    }
                    while client.serveMainQueue(timeoutMs: 0) {}
                    guard let message = rd_kafka_consumer_poll(handle, 50) else { continue }
                    defer { rd_kafka_message_destroy(message) }
                    guard let topicHandle = message.pointee.rkt else { continue }
                    let partition = TopicPartition(
                        String(cString: rd_kafka_topic_name(topicHandle)), message.pointee.partition)
                    var low: Int64 = -1
                    var high: Int64 = -1
                    if rd_kafka_get_watermark_offsets(handle, partition.topic, partition.partition, &low, &high)
                        == RD_KAFKA_RESP_ERR_NO_ERROR,
                        high >= 0
                    {
                        found[partition] = high
                        TopicPartitionList.with([TopicPartitionOffset(partition, offset: 0)]) {
                            _ = rd_kafka_pause_partitions(handle, $0)
                        }
                    }
                }
                rd_kafka_consumer_close(handle)
                return found
            }
        }
    }
}
