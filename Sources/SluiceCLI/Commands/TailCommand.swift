import ArgumentParser
import Foundation
import SluiceKafka

/// `sluice tail TOPIC`.
struct TailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Print records of a topic as they arrive.",
        discussion: """
            Without --group nothing is committed. --json prints one object per line: topic, partition, offset, \
            timestamp (ms), key, headers, value. A value that is JSON is embedded as JSON, other UTF-8 text as a \
            string, and bytes that are not UTF-8 as value_base64 (keys and header values likewise).

            Examples:
              sluice tail sluice.results --from-beginning --limit 10
              sluice tail orders.created --group audit --json
            """
    )

    @Argument(help: "The topic to read.") var topic: String
    @Flag(help: "Start at the oldest record instead of the end.") var fromBeginning = false
    @Option(help: "Read as this consumer group and commit what was printed.") var group: String?
    @Option(help: "Exit after this many records.") var limit: Int?
    @Flag(help: "Print one JSON object per record.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        let kafka = connection.connection
        let admin = try KafkaAdmin.make(kafka)
        defer { Task { await admin.close() } }
        guard let metadata = try await admin.topic(topic) else {
            throw CLIError("topic \(topic) does not exist on \(kafka.brokerList); `sluice topics list` shows the topics there are.")
        }
        var configuration = ConsumerConfiguration(connection: kafka, groupID: group)
        configuration.offsetReset = fromBeginning ? .earliest : .latest
        let consumer = try KafkaConsumer.make(configuration)
        if group != nil {
            try consumer.subscribe(topics: [topic])
        } else if fromBeginning {
            try consumer.assign(metadata.partitions.map { TopicPartitionOffset(TopicPartition(topic, $0.id), offset: TopicPartitionOffset.beginning) })
        } else {
            // Explicit end offsets: "latest" resolves through ListOffsets, which the embedded broker gets wrong.
            let marks = try await admin.highWatermarks(topics: [topic])
            try consumer.assign(marks.map { TopicPartitionOffset($0.key, offset: $0.value) })
        }

        var printed = 0
        var next: [TopicPartition: Int64] = [:]
        let output = FileHandle.standardOutput
        loop: for await event in consumer.events {
            switch event {
            case .record(let record):
                output.write(Data(json ? RecordJSON.line(record) : Self.plainLine(record)))
                printed += 1
                next[record.topicPartition] = record.offset + 1
                if printed % 500 == 0, group != nil { try await consumer.commit(next.map { TopicPartitionOffset($0.key, offset: $0.value) }) }
                if let limit, printed >= limit { break loop }
            case .assigned(let partitions) where group != nil && !fromBeginning:
                try await startNewPartitionsAtEnd(partitions, consumer: consumer, admin: admin)
            case .error(let error) where error.isFatal:
                throw error
            default:
                continue
            }
        }
        if group != nil { try await consumer.commit(next.map { TopicPartitionOffset($0.key, offset: $0.value) }) }
        await consumer.close()
    }

    /// A group without a committed offset starts at the true end of the partition.
    private func startNewPartitionsAtEnd(_ partitions: [TopicPartition], consumer: KafkaConsumer, admin: KafkaAdmin) async throws {
        let committed = try await consumer.committed(partitions)
        let fresh = partitions.filter { committed[$0] ?? nil == nil }
        guard !fresh.isEmpty else { return }
        let marks = try await admin.highWatermarks(topics: [topic])
        try await consumer.seek(fresh.compactMap { partition in marks[partition].map { TopicPartitionOffset(partition, offset: $0) } })
    }

    static func plainLine(_ record: ConsumerRecord) -> [UInt8] {
        var line = Array("\(record.topic)/\(record.partition)@\(record.offset) ".utf8)
        if let key = record.key { line += Array("key=".utf8) + key + [UInt8(ascii: " ")] }
        line += record.value ?? Array("(tombstone)".utf8)
        line.append(0x0A)
        return line
    }
}
