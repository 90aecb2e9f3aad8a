import Foundation
import SluiceKafka
import SluiceRecords
import SluiceTesting
import Testing

@Suite("Producer and consumer against the embedded broker", .timeLimit(.minutes(3)))
struct ProducerConsumerTests {
    @Test("10 000 keyed records with binary headers round-trip in order, each where the producer said")
    func roundTrip() async throws {
        let topic = try await makeTestTopic("roundtrip", partitions: 6)
        let connection = try await TestBroker.connection()
        let producer = try KafkaProducer.make(ProducerConfiguration(connection: connection))
        var deliveries: [(index: Int, delivery: PendingDelivery)] = []
        for index in 0..<10_000 {
            let record = ProducerRecord(
                topic: topic, key: Array("key-\(index % 97)".utf8), value: Array("value-\(index)".utf8),
                headers: [
                    KafkaHeader(name: "bin", value: [0, 255, UInt8(index % 256), 10]),
                    KafkaHeader(name: "n", string: "\(index)"),
                ])
            deliveries.append((index, try await producer.enqueue(record)))
        }
        var positions: [Int: RecordPosition] = [:]
        for (index, delivery) in deliveries { positions[index] = try await delivery.position() }
        await producer.close()

        let consumer = try KafkaConsumer.make(ConsumerConfiguration(connection: connection))
        try await consumer.assign(
            (0..<6).map { TopicPartitionOffset(TopicPartition(topic, $0), offset: TopicPartitionOffset.beginning) })
        let records = try await readRecords(consumer, count: 10_000)
        await consumer.close()

        var byPosition: [RecordPosition: ConsumerRecord] = [:]
        for record in records {
            byPosition[RecordPosition(topic: topic, partition: record.partition, offset: record.offset)] = record
        }
        #expect(byPosition.count == 10_000)
        for (index, position) in positions {
            let record = try #require(byPosition[position], "record \(index) is not at \(position)")
            #expect(record.value == Array("value-\(index)".utf8))
            #expect(record.key == Array("key-\(index % 97)".utf8))
            #expect(record.header("bin") == [0, 255, UInt8(index % 256), 10])
        }
        // Per partition, offsets grow with the publish order and records of a key share one partition.
        var lastIndex: [Int32: Int] = [:]
        var partitionOfKey: [String: Int32] = [:]
        for record in records {
            let index = Int(String(decoding: record.header("n") ?? [], as: UTF8.self))!
            #expect(
                index > lastIndex[record.partition, default: -1],
                "partition \(record.partition) out of order at \(index)")
            lastIndex[record.partition] = index
            let key = String(decoding: record.key ?? [], as: UTF8.self)
            #expect(partitionOfKey[key, default: record.partition] == record.partition)
            partitionOfKey[key] = record.partition
        }
    }

    @Test("A tombstone and an empty value stay distinct")
    func tombstoneAndEmptyValue() async throws {
        let topic = try await makeTestTopic("tombstone", partitions: 1)
        let connection = try await TestBroker.connection()
        let producer = try KafkaProducer.make(ProducerConfiguration(connection: connection))
        _ = try await producer.send(ProducerRecord(topic: topic, key: [1], value: nil))
        _ = try await producer.send(ProducerRecord(topic: topic, key: [2], value: []))
        await producer.close()
        let consumer = try KafkaConsumer.make(ConsumerConfiguration(connection: connection))
        try await consumer.assign([
            TopicPartitionOffset(TopicPartition(topic, 0), offset: TopicPartitionOffset.beginning)
        ])
        let records = try await readRecords(consumer, count: 2)
        await consumer.close()
        #expect(records[0].value == nil)
        #expect(records[1].value == [])
    }

    @Test("High watermarks are right although records were produced in multi-record batches")
    func highWatermarks() async throws {
        let topic = try await makeTestTopic("watermarks", partitions: 3)
        let connection = try await TestBroker.connection()
        var configuration = ProducerConfiguration(connection: connection)
        configuration.lingerMs = 50
        let producer = try KafkaProducer.make(configuration)
        var deliveries: [PendingDelivery] = []
        for index in 0..<3000 {
            deliveries.append(
                try await producer.enqueue(
                    ProducerRecord(topic: topic, partition: Int32(index % 3), value: [UInt8(index % 200)])))
        }
        for delivery in deliveries { _ = try await delivery.position() }
        await producer.close()
        let admin = try KafkaAdmin.make(connection)
        let marks = try await admin.highWatermarks(topics: [topic])
        await admin.close()
        #expect(
            marks == [TopicPartition(topic, 0): 1000, TopicPartition(topic, 1): 1000, TopicPartition(topic, 2): 1000])
    }

    @Test("Seek moves the read position; pause stops a partition until resume")
    func seekPauseResume() async throws {
        let topic = try await makeTestTopic("seek", partitions: 2)
        let connection = try await TestBroker.connection()
        let producer = try KafkaProducer.make(ProducerConfiguration(connection: connection))
        for index in 0..<20 {
            _ = try await producer.send(
                ProducerRecord(topic: topic, partition: Int32(index % 2), value: [UInt8(index)]))
        }
        await producer.close()

        let consumer = try KafkaConsumer.make(ConsumerConfiguration(connection: connection))
        let p0 = TopicPartition(topic, 0)
        let p1 = TopicPartition(topic, 1)
        try await consumer.assign([TopicPartitionOffset(p0, offset: TopicPartitionOffset.beginning)])
        let first = try await readRecords(consumer, count: 10)
        #expect(first.map(\.offset) == Array(0..<10))
        try await consumer.seek([TopicPartitionOffset(p0, offset: 7)])
        let again = try await readRecords(consumer, count: 3)
        #expect(again.map(\.offset) == [7, 8, 9])

        // Paused p1 delivers nothing; after resume its 10 records arrive. The EOF of p0 proves fetching ran.
        try await consumer.assign([TopicPartitionOffset(p0, offset: 0), TopicPartitionOffset(p1, offset: 0)])
        try consumer.pause([p1])
        let p0Records = try await readRecords(consumer, count: 10)
        #expect(p0Records.allSatisfy { $0.partition == 0 })
        try consumer.resume([p1])
        let p1Records = try await readRecords(consumer, count: 10)
        #expect(p1Records.allSatisfy { $0.partition == 1 })
        #expect(try consumer.assignment() == [p0, p1])
        await consumer.close()
    }
}
