import Foundation
import SluiceKafka
import SluiceLag
import SluiceRecords
import SluiceTesting
import Testing

/// Samples `engine` until `done` holds for the group's partitions (at most `timeout`).
func sampleUntil(
    _ engine: LagEngine, group: String, timeout: Duration = .seconds(60),
    _ done: @escaping @Sendable ([PartitionLag]) -> Bool
) async throws -> [PartitionLag] {
    try await withDeadline(timeout, "group \(group) reaching the expected lag status") {
        while true {
            let partitions = try await engine.sample().first { $0.group == group }?.partitions ?? []
            if done(partitions) { return partitions }
            try await Task.sleep(for: .milliseconds(250))
        }
    }
}

@Suite("Lag engine against the real broker", .timeLimit(.minutes(4)))
struct LagEngineTests {
    @Test("Lag equals produced minus consumed per partition; lag time is the oldest unconsumed record's age within 1 s")
    func groundTruth() async throws {
        let connection = try await TestBroker.connection()
        let topic = try await makeTestTopic("lagged", partitions: 3)
        // Linger so that records travel in multi-record batches (where the broker's ListOffsets is wrong).
        var batching = ProducerConfiguration(connection: connection)
        batching.lingerMs = 50
        let producer = try KafkaProducer.make(batching)
        var deliveries: [PendingDelivery] = []
        for index in 0..<900 {
            deliveries.append(
                try await producer.enqueue(
                    ProducerRecord(topic: topic, partition: Int32(index % 3), value: Array("r\(index)".utf8))))
        }
        var produced: [RecordPosition] = []
        for delivery in deliveries { produced.append(try await delivery.position()) }
        await producer.close()

        // A group consumes and commits 50, 150 and 250 records of partitions 0, 1, 2.
        let group = uniqueName("lag-truth")
        let consumer = try KafkaConsumer.make(ConsumerConfiguration(connection: connection, groupID: group))
        let consumed: [Int32: Int64] = [0: 50, 1: 150, 2: 250]
        try await consumer.commit(
            consumed.map { TopicPartitionOffset(TopicPartition(topic, $0.key), offset: $0.value) })
        await consumer.close()

        var options = LagEngine.Options()
        options.groups = [group]
        let engine = try LagEngine(connection: connection, options: options)
        let partitions = try await sampleUntil(engine, group: group) { $0.count == 3 }
        let sampledAt = Date().timeIntervalSince1970
        await engine.close()
        // The oldest unconsumed record of each partition, read back for its timestamp.
        for lag in partitions {
            #expect(lag.topic == topic)
            #expect(lag.end == 300, "end of \(lag.partition)")
            #expect(lag.committed == consumed[lag.partition])
            #expect(lag.lag == 300 - consumed[lag.partition]!)
            let oldest = try await readOneRecord(
                topic, partition: lag.partition, offset: lag.committed, connection: connection)
            let age = sampledAt - Double(oldest.timestampMs) / 1000
            #expect(abs(lag.lagSeconds - age) <= 1, "lag time \(lag.lagSeconds) s vs the record's age \(age) s")
        }
        #expect(produced.count == 900)
    }

    @Test(
        "Status: STOP when the consumer stopped, STALL when a member commits the same offset, REWIND when it goes back, OK when caught up"
    )
    func statuses() async throws {
        let connection = try await TestBroker.connection()
        let topic = try await makeTestTopic("statuses", partitions: 1)
        let partition = TopicPartition(topic, 0)
        let producer = try KafkaProducer.make(ProducerConfiguration(connection: connection))
        for index in 0..<50 {
            _ = try await producer.send(ProducerRecord(topic: topic, value: Array("s\(index)".utf8)))
        }

        let (stopped, stalled, rewound, caughtUp) = (
            uniqueName("stop"), uniqueName("stall"), uniqueName("rewind"), uniqueName("ok")
        )
        func commit(_ group: String, _ offset: Int64) async throws {
            let consumer = try KafkaConsumer.make(ConsumerConfiguration(connection: connection, groupID: group))
            try await consumer.commit([TopicPartitionOffset(partition, offset: offset)])
            await consumer.close()
        }
        try await commit(stopped, 10)
        try await commit(caughtUp, 50)
        try await commit(rewound, 40)

        var options = LagEngine.Options()
        options.groups = [stopped, stalled, rewound, caughtUp]
        options.window = .seconds(4)
        options.stopAfter = .seconds(2)
        let engine = try LagEngine(connection: connection, options: options)
        _ = try await engine.sample()

        // STALL: a live member of its group keeps committing offset 20 while records keep arriving.
        // (The embedded broker drops offset metadata, so commit times are unknown here: a group with
        // members whose offset does not move is STALL, one without members is STOP.)
        let member = try KafkaConsumer.make(ConsumerConfiguration(connection: connection, groupID: stalled))
        try member.subscribe(topics: [topic])
        let staller = Task {
            while !Task.isCancelled {
                try? await member.commit([TopicPartitionOffset(partition, offset: 20)])
                _ = try? await producer.send(ProducerRecord(topic: topic, value: Array("more".utf8)))
                try? await Task.sleep(for: .milliseconds(300))
            }
        }
        let stall = try await sampleUntil(engine, group: stalled) { $0.first?.status == .stall }
        #expect(stall.first?.committed == 20)
        staller.cancel()
        await staller.value
        await member.close()

        let stop = try await sampleUntil(engine, group: stopped) { $0.first?.status == .stop }
        #expect((stop.first?.lag ?? 0) > 0)

        try await commit(rewound, 15)
        let rewind = try await sampleUntil(engine, group: rewound) { $0.first?.status == .rewind }
        #expect(rewind.first?.committed == 15)

        // The end once nothing is produced any more.
        let admin = try KafkaAdmin.make(connection)
        let end = try #require(try await admin.highWatermarks(topics: [topic])[partition])
        await admin.close()
        try await commit(caughtUp, end)
        let ok = try await sampleUntil(engine, group: caughtUp) {
            $0.first.map { $0.status == .ok && $0.lag == 0 } ?? false
        }
        #expect(ok.first?.lagSeconds == 0)
        await producer.close()
        await engine.close()
    }

    @Test("Burrow's rules on recorded samples (pure logic)")
    func rules() {
        func status(_ committed: [Int64], _ ends: [Int64], _ times: [Int64?], now: Int64 = 10_000, members: Bool = true)
            -> LagStatus
        {
            LagEngine.Rules.status(
                committed: committed, ends: ends, commitTimesMs: times, nowMs: now, stopAfterMs: 5000,
                hasMembers: members)
        }
        #expect(status([10, 10, 10], [20, 25, 30], [8000, 9000, 9900]) == .stall)
        #expect(status([10, 10], [20, 30], [1000, 1000]) == .stop)
        #expect(status([10, 12, 14], [20, 30, 40], [8000, 9000, 9900]) == .warn)
        #expect(status([10, 20, 30], [20, 30, 40], [8000, 9000, 9900]) == .ok)
        #expect(status([30, 20], [40, 40], [9000, 9900]) == .rewind)
        #expect(status([40, 40], [40, 40], [1000, 1000], members: false) == .ok)
        #expect(status([10, 10], [20, 20], [nil, nil], members: false) == .stop)
        #expect(status([10, 10], [20, 20], [nil, nil], members: true) == .stall)
    }
}

func readOneRecord(_ topic: String, partition: Int32, offset: Int64, connection: KafkaConnection) async throws
    -> ConsumerRecord
{
    let consumer = try KafkaConsumer.make(ConsumerConfiguration(connection: connection))
    defer { Task { await consumer.close() } }
    try await consumer.assign([TopicPartitionOffset(TopicPartition(topic, partition), offset: offset)])
    return try #require(try await readRecords(consumer, count: 1).first)
}
