import Foundation
import SluiceKafka
import SluiceRecords
import SluiceTesting
import Testing

@Suite("bin/sluice lag", .timeLimit(.minutes(2)))
struct LagCommandTests {
    @Test("lag --json reports a group's lag per partition; the table names it; a bad option is refused")
    func lagJSON() async throws {
        let connection = try await TestBroker.connection()
        let topic = try await makeTestTopic("lagcli", partitions: 2)
        let producer = try KafkaProducer.make(ProducerConfiguration(connection: connection))
        for index in 0..<40 {
            _ = try await producer.send(
                ProducerRecord(topic: topic, partition: Int32(index % 2), value: Array("\(index)".utf8)))
        }
        await producer.close()
        let group = uniqueName("lagcli")
        let consumer = try KafkaConsumer.make(ConsumerConfiguration(connection: connection, groupID: group))
        try await consumer.commit([
            TopicPartitionOffset(TopicPartition(topic, 0), offset: 5),
            TopicPartitionOffset(TopicPartition(topic, 1), offset: 20),
        ])
        await consumer.close()

        let result = try await CommandRunner.sluice([
            "lag", "--group", group, "--json", "--interval", "0.2", "--brokers", connection.brokerList,
        ])
        #expect(result.status == 0, "\(result.errors)")
        let rows = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]])
        #expect(rows.count == 2)
        let byPartition = Dictionary(uniqueKeysWithValues: rows.map { ($0["partition"] as? Int ?? -1, $0) })
        #expect(
            byPartition[0]?["lag"] as? Int == 15 && byPartition[0]?["end"] as? Int == 20
                && byPartition[0]?["committed"] as? Int == 5)
        #expect(byPartition[1]?["lag"] as? Int == 0 && byPartition[1]?["status"] as? String == "OK")
        #expect((byPartition[0]?["lag_seconds"] as? Double ?? 0) > 0)
        #expect(rows.allSatisfy { $0["group"] as? String == group && $0["topic"] as? String == topic })

        // Dead letters per function under the table: 3 of one function on a dead-letter topic of this test.
        let deadLetters = try await makeTestTopic("lagdlq", partitions: 1)
        let function = uniqueName("fn")
        let letters = try KafkaProducer.make(ProducerConfiguration(connection: connection))
        for index in 0..<3 {
            _ = try await letters.send(
                ProducerRecord(
                    topic: deadLetters, value: Array("\(index)".utf8),
                    headers: [KafkaHeader(name: "sluice-function", string: function)]))
        }
        await letters.close()

        let table = try await CommandRunner.sluice([
            "lag", "--group", group, "--interval", "0.2", "--dlq-topic", deadLetters, "--brokers",
            connection.brokerList,
        ])
        #expect(table.status == 0)
        #expect(table.output.contains("LAG TIME") && table.output.contains(topic))
        let row = table.output.split(separator: "\n").first { $0.hasPrefix(function) }.map(String.init) ?? ""
        #expect(
            row.split(separator: " ", omittingEmptySubsequences: true).prefix(2) == [Substring(function), "3"],
            "\(table.output)")
        #expect(row.contains("sluice dlq replay --function \(function)"))
        let bad = try await CommandRunner.sluice(["lag", "--watch", "--json", "--brokers", connection.brokerList])
        #expect(bad.status != 0)
    }
}
