import CRdKafka
import Foundation
import SluiceKafka
import SluiceRecords

/// Writes records in one committed Kafka transaction, so that the partition ends with a transaction
/// marker: its last offset is no record, and a reader that waits for the record at the high watermark
/// minus one waits for ever. (Sluice itself writes no transactions; tests use this to make that gap.)
public enum TransactionalWriter {
    public static func commit(_ records: [ProducerRecord], connection: KafkaConnection) throws {
        var error = [CChar](repeating: 0, count: 512)
        let conf = rd_kafka_conf_new()
        for (name, value) in [
            ("bootstrap.servers", connection.brokerList), ("transactional.id", "sluice-test-\(UUID().uuidString)"),
        ] {
            guard rd_kafka_conf_set(conf, name, value, &error, error.count) == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(conf)
                throw TestSetupError("\(name): \(text(error))")
            }
        }
        guard let handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &error, error.count) else {
            throw TestSetupError("producer: \(text(error))")
        }
        defer { rd_kafka_destroy(handle) }
        let timeout = Int32(connection.timeoutMs)
        try check(rd_kafka_init_transactions(handle, timeout), "init_transactions")
        try check(rd_kafka_begin_transaction(handle), "begin_transaction")
        for record in records {
            let topic = rd_kafka_topic_new(handle, record.topic, nil)
            defer { rd_kafka_topic_destroy(topic) }
            var key = record.key ?? []
            var value = record.value ?? []
            let status = key.withUnsafeMutableBytes { keyBytes in
                value.withUnsafeMutableBytes { valueBytes in
                    rd_kafka_produce(
                        topic, record.partition ?? RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                        record.value == nil ? nil : valueBytes.baseAddress, record.value?.count ?? 0,
                        record.key == nil ? nil : keyBytes.baseAddress, record.key?.count ?? 0, nil)
                }
            }
            guard status == 0 else { throw TestSetupError("produce to \(record.topic) failed") }
        }
        try check(rd_kafka_commit_transaction(handle, timeout), "commit_transaction")
    }

    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func check(_ error: OpaquePointer?, _ what: String) throws {
        guard let error else { return }
        defer { rd_kafka_error_destroy(error) }
        throw TestSetupError("\(what): \(String(cString: rd_kafka_error_string(error)))")
    }
}
