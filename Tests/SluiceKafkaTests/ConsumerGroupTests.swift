import Foundation
import SluiceKafka
import SluiceRecords
import SluiceTesting
import Testing

@Suite("Consumer groups against the embedded broker", .timeLimit(.minutes(3)))
struct ConsumerGroupTests {
    struct GroupState: Sendable {
        var assignments: [Int: Set<TopicPartition>] = [:]
        var seen: [TopicPartition: [Int64]] = [:]
        var total = 0
    }

    @Test("Two consumers in one group split the partitions; every record is seen once; commits reach the end")
    func twoConsumersSplitPartitions() async throws {
        let topic = try await makeTestTopic("group", partitions: 4)
        let group = uniqueName("group")
        let connection = try await TestBroker.connection()
        let state = Observed(GroupState())
        let allPartitions = Set((0..<4).map { TopicPartition(topic, Int32($0)) })
        let recordCount = 2000

        try await withDeadline(.seconds(120), "group consumption") {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for member in 0..<2 {
                    tasks.addTask {
                        let consumer = try KafkaConsumer.make(
                            ConsumerConfiguration(connection: connection, groupID: group))
                        try consumer.subscribe(topics: [topic])
                        var next: [TopicPartition: Int64] = [:]
                        for await event in consumer.events {
                            switch event {
                            case .assigned(let partitions):
                                // What is added and what is taken away (right for eager and cooperative).
                                await state.update { $0.assignments[member, default: []].formUnion(partitions) }
                            case .revoked(let partitions):
                                await state.update { $0.assignments[member, default: []].subtract(partitions) }
                            case .record(let record):
                                next[record.topicPartition] = record.offset + 1
                                let total = await state.update { state in
                                    state.seen[record.topicPartition, default: []].append(record.offset)
                                    state.total += 1
                                    return state.total
                                }
                                if total == recordCount { break }
                            default: break
                            }
                            if await state.state.total == recordCount { break }
                        }
                        try await consumer.commit(next.map { TopicPartitionOffset($0.key, offset: $0.value) })
                        await state.update { $0.assignments[member] = $0.assignments[member] ?? [] }
                        await consumer.close()
                    }
                }
                tasks.addTask {
                    // Produce only once the group is stable, so no rebalance redelivers uncommitted records.
                    try await withDeadline(.seconds(60), "both members assigned") {
                        await state.wait { state in
                            let a = state.assignments[0] ?? []
                            let b = state.assignments[1] ?? []
                            return !a.isEmpty && !b.isEmpty && a.isDisjoint(with: b) && a.union(b) == allPartitions
                        }
                    }
                    let producer = try KafkaProducer.make(ProducerConfiguration(connection: connection))
                    for index in 0..<recordCount {
                        _ = try await producer.enqueue(
                            ProducerRecord(topic: topic, partition: Int32(index % 4), value: Array("\(index)".utf8)))
                    }
                    try await producer.flush()
                    await producer.close()
                }
                try await tasks.waitForAll()
            }
        }

        let final = await state.state
        #expect(final.total == recordCount)
        for (partition, offsets) in final.seen {
            #expect(offsets == Array(0..<Int64(offsets.count)), "\(partition) saw duplicates or gaps")
        }
        let admin = try KafkaAdmin.make(connection)
        let marks = try await admin.highWatermarks(topics: [topic])
        let committed = try await admin.committedOffsets(group: group, partitions: Array(allPartitions))
        let groups = try await admin.consumerGroups()
        await admin.close()
        #expect(groups.contains { $0.name == group }, "the group is not listed")
        for partition in allPartitions {
            #expect(marks[partition] == Int64(recordCount / 4))
            #expect(
                committed[partition] == .some(marks[partition]),
                "\(partition) committed \(String(describing: committed[partition]))")
        }
    }

    @Test("A consumer paused by a full buffer fetches again the partitions a rebalance gives it")
    func backpressureSurvivesRebalance() async throws {
        let topic = try await makeTestTopic("paused", partitions: 4)
        let group = uniqueName("paused")
        let connection = try await TestBroker.connection()
        let producer = try KafkaProducer.make(ProducerConfiguration(connection: connection))
        for index in 0..<400 {
            _ = try await producer.enqueue(
                ProducerRecord(topic: topic, partition: Int32(index % 4), value: Array("\(index)".utf8)))
        }
        try await producer.flush()
        await producer.close()

        var configuration = ConsumerConfiguration(connection: connection, groupID: group)
        configuration.bufferCapacity = 20
        let first = try KafkaConsumer.make(configuration)
        try first.subscribe(topics: [topic])
        // Not read: the buffer fills and fetching pauses (librdkafka keeps a pause across a rebalance).
        try await withDeadline(.seconds(30), "the first consumer's buffer to fill") {
            while first.bufferedRecords < 20 { try await Task.sleep(for: .milliseconds(20)) }
        }
        let second = try KafkaConsumer.make(configuration)
        try second.subscribe(topics: [topic])
        let seen = Observed(Set<String>())
        try await withDeadline(.seconds(90), "all 400 records between both consumers") {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for consumer in [first, second] {
                    tasks.addTask {
                        for await event in consumer.events {
                            if case .record(let record) = event {
                                await seen.update { _ = $0.insert("\(record.partition)@\(record.offset)") }
                            }
                            if await seen.state.count == 400 { break }
                        }
                    }
                }
                // The first to see the 400th record ends; the other stops waiting.
                try await tasks.next()
                tasks.cancelAll()
            }
        }
        await first.close()
        await second.close()
        #expect(await seen.state.count == 400)
    }

    @Test("A consumer that committed and closed is resumed from its committed offset")
    func resumesFromCommittedOffset() async throws {
        let topic = try await makeTestTopic("resume", partitions: 1)
        let group = uniqueName("resume")
        let connection = try await TestBroker.connection()
        let producer = try KafkaProducer.make(ProducerConfiguration(connection: connection))
        for index in 0..<100 {
            _ = try await producer.enqueue(ProducerRecord(topic: topic, value: Array("\(index)".utf8)))
        }
        try await producer.flush()
        await producer.close()

        let first = try KafkaConsumer.make(ConsumerConfiguration(connection: connection, groupID: group))
        try first.subscribe(topics: [topic])
        let firstRecords = try await readRecords(first, count: 40)
        #expect(firstRecords.last?.offset == 39)
        try await first.commit([TopicPartitionOffset(TopicPartition(topic, 0), offset: 40)])
        await first.close()

        let second = try KafkaConsumer.make(ConsumerConfiguration(connection: connection, groupID: group))
        try second.subscribe(topics: [topic])
        let secondRecords = try await readRecords(second, count: 60)
        await second.close()
        #expect(secondRecords.first?.offset == 40)
        #expect(secondRecords.map(\.offset) == Array(40..<100))
    }
}
