import Crypto
import Foundation
import Logging
import SluiceKafka
import SluicePipeline
import SluiceRecords
import SluiceTesting
import Testing

@Suite("The results index knows when it has read every result", .timeLimit(.minutes(5)))
struct OutcomeIndexTests {
    @Test(
        "An index that starts at the end of every partition (a window of 0) has caught up at once, with no new result to read"
    )
    func startingAtTheEndIsCaughtUp() async throws {
        let topic = try await makeTestTopic("results-end", partitions: 3)
        try await TopicPublisher.withProducer(connection: try await TestBroker.connection()) { producer in
            for index in 0..<30 {
                _ = try await producer.send(
                    ProducerRecord(
                        topic: topic, partition: Int32(index % 3), key: Array("inv_\(index)".utf8), value: []))
            }
        }
        // Before, it waited for a result past the end of each partition: 30 s, then `timedOut`.
        try await catchUp(topic, window: 0)
        // From the middle: it reads the rest to catch up.
        try await catchUp(topic, window: 4)
    }

    @Test("A partition that ends with a transaction marker (its end is no record's offset + 1) is caught up at the end")
    func endingWithAMarkerIsCaughtUp() async throws {
        let connection = try await TestBroker.connection()
        let topic = try await makeTestTopic("results-marked", partitions: 1)
        try TransactionalWriter.commit(
            [ProducerRecord(topic: topic, key: Array("inv_marked".utf8), value: [])], connection: connection)
        let marks = try await KafkaAdmin.highWatermarks(topics: [topic], connection: connection)
        #expect(marks[TopicPartition(topic, 0)] == 2, "the record at 0, the commit marker at 1")
        // Before, the last record's offset + 1 (1) never reached the end (2): 30 s, then `timedOut`.
        try await catchUp(topic)
    }

    /// Runs an index of `topic` (the last `window` results of each partition) until it has caught up;
    /// throws `timedOut` when that takes over 20 s.
    private func catchUp(_ topic: String, window: Int64 = 100_000) async throws {
        let index = try await OutcomeIndex.start(
            connection: try await TestBroker.connection(), topic: topic, windowPerPartition: window,
            signer: ResultSigner(key: SymmetricKey(size: .bits256)), logger: Logger(label: "test"))
        let running = Task { try await index.run() }
        var failure: (any Error)?
        do { try await index.catchUp(timeout: .seconds(20)) } catch { failure = error }
        running.cancel()
        _ = try? await running.value
        if let failure { throw failure }
    }
}
