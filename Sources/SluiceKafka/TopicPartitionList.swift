import CRdKafka
import Glibc
import SluiceRecords

/// Conversions between Swift partition lists and `rd_kafka_topic_partition_list_t`.
enum TopicPartitionList {
    /// Makes a C list; the caller destroys it with `rd_kafka_topic_partition_list_destroy`.
    /// `metadata` is attached to every entry (committed with the offsets); the list owns a copy.
    static func make(_ entries: [TopicPartitionOffset], metadata: String? = nil) -> UnsafeMutablePointer<
        rd_kafka_topic_partition_list_t
    > {
        let list = rd_kafka_topic_partition_list_new(Int32(max(entries.count, 1)))!
        for entry in entries {
            let element = rd_kafka_topic_partition_list_add(
                list, entry.topicPartition.topic, entry.topicPartition.partition)!
            element.pointee.offset = entry.offset
            if let metadata {
                let bytes = Array(metadata.utf8)
                let copy = malloc(max(bytes.count, 1))!
                bytes.withUnsafeBytes { copy.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
                element.pointee.metadata = copy
                element.pointee.metadata_size = bytes.count
            }
        }
        return list
    }

    /// Calls `body` with a temporary C list.
    static func with<R>(
        _ entries: [TopicPartitionOffset], metadata: String? = nil,
        _ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws -> R
    ) rethrows -> R {
        let list = make(entries, metadata: metadata)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return try body(list)
    }

    static func read(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>?) -> [TopicPartitionOffset] {
        guard let list else { return [] }
        return (0..<Int(list.pointee.cnt)).map { index in
            let element = list.pointee.elems[index]
            return TopicPartitionOffset(
                TopicPartition(String(cString: element.topic), element.partition), offset: element.offset)
        }
    }

    /// Each entry's metadata as text (nil when empty).
    static func metadata(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [TopicPartition: String] {
        var result: [TopicPartition: String] = [:]
        for index in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[index]
            guard let bytes = element.metadata, element.metadata_size > 0 else { continue }
            result[TopicPartition(String(cString: element.topic), element.partition)] =
                String(decoding: UnsafeRawBufferPointer(start: bytes, count: element.metadata_size), as: UTF8.self)
        }
        return result
    }

    /// The first per-partition error in a list, if any.
    static func firstError(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> (
        TopicPartition, rd_kafka_resp_err_t
    )? {
        for index in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[index]
            if element.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                return (TopicPartition(String(cString: element.topic), element.partition), element.err)
            }
        }
        return nil
    }
}
