import SluiceRecords
import Testing

@Suite("The held partition a retry record carries")
struct HeldPartitionTests {
    func request(headers: [KafkaHeader]) -> InvocationRequest? {
        let record = ConsumerRecord(
            topic: "sluice.retry.1s", partition: 0, offset: 7, timestampMs: 0, key: Array("k".utf8), value: nil,
            headers: [
                KafkaHeader(name: SluiceHeader.invocationID, string: "inv_1"),
                KafkaHeader(name: SluiceHeader.function, string: "f"),
            ] + headers)
        return try? InvocationRequest.decode(record).get()
    }

    @Test("Read back as written; out of range, negative or not a number: none (the record itself still reads)")
    func bounds() throws {
        var original = try #require(request(headers: []))
        #expect(original.heldPartition == nil)
        original.heldPartition = 5
        let written = original.producerRecord(topic: "sluice.retry.1s")
        let copy = try #require(
            try? InvocationRequest.decode(
                ConsumerRecord(
                    topic: written.topic, partition: 0, offset: 0, timestampMs: 0, key: written.key,
                    value: written.value, headers: written.headers)
            ).get())
        #expect(copy.heldPartition == 5)
        #expect(written.headers.filter { $0.name == SluiceHeader.heldPartition }.count == 1)
        for bad in ["-1", "2147483648", "9223372036854775808", "x", ""] {
            let decoded = try #require(request(headers: [KafkaHeader(name: SluiceHeader.heldPartition, string: bad)]))
            #expect(decoded.heldPartition == nil, "\(bad)")
        }
        let top = request(headers: [KafkaHeader(name: SluiceHeader.heldPartition, string: "2147483647")])
        #expect(top?.heldPartition == Int32.max)
    }
}
