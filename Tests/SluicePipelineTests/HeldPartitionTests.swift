import Crypto
import Foundation
import SluiceRecords
import SluiceRuntime
import Testing

@testable import SluicePipeline

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

@Suite("The key hold a non-final result carries")
struct KeyHoldResultTests {
    let signer = ResultSigner(key: SymmetricKey(size: .bits256))

    func readBack(_ record: ProducerRecord) -> ConsumerRecord {
        ConsumerRecord(
            topic: record.topic, partition: 0, offset: 0, timestampMs: 0, key: record.key, value: record.value,
            headers: record.headers)
    }

    func retried(key: String?) -> ResultRecords.Finished {
        var request = InvocationRequest(
            invocationID: "inv_2", function: "f", trigger: "invoke", key: key.map { Array($0.utf8) }, value: nil,
            traceParent: .start())
        request.heldPartition = 3
        var finished = ResultRecords.Finished(
            request: request, spec: nil, outcome: InvocationOutcome(status: .error, error: "x"), workerID: "w",
            start: Date(), end: Date())
        finished.final = false
        finished.held = KeyHold(topic: "sluice.invocations", partition: 3, function: "f", key: key)
        return finished
    }

    @Test(
        "Signed with the hold; a changed key, partition or topic no longer authenticates; a final result carries none")
    func authenticated() throws {
        let record = readBack(ResultRecords.result(retried(key: "k1"), topic: "sluice.results", signer: signer))
        #expect(
            KeyHold(headersOf: record) == KeyHold(topic: "sluice.invocations", partition: 3, function: "f", key: "k1"))
        #expect(signer.isAuthentic(record, invocationID: "inv_2"))
        for (name, forged) in [
            (SluiceHeader.heldKey, "k2"), (SluiceHeader.heldPartition, "4"), (SluiceHeader.heldTopic, "other"),
        ] {
            var changed = record
            changed.headers = record.headers.map { $0.name == name ? KafkaHeader(name: name, string: forged) : $0 }
            #expect(!signer.isAuthentic(changed, invocationID: "inv_2"), "\(name) changed")
        }
        var final = retried(key: "k1")
        final.final = true
        let finalRecord = readBack(ResultRecords.result(final, topic: "sluice.results", signer: signer))
        #expect(finalRecord.header(SluiceHeader.heldTopic) == nil)
        #expect(signer.isAuthentic(finalRecord, invocationID: "inv_2"))
    }

    @Test("A key over 1 KB is not carried; a bad topic or partition reads as no hold")
    func bounds() {
        #expect(KeyHold(topic: "t", partition: 0, function: "f", key: String(repeating: "k", count: 1025)).key == nil)
        func hold(_ headers: [KafkaHeader]) -> KeyHold? {
            KeyHold(
                headersOf: ConsumerRecord(
                    topic: "r", partition: 0, offset: 0, timestampMs: 0, key: nil, value: nil,
                    headers: [KafkaHeader(name: SluiceHeader.function, string: "f")] + headers))
        }
        let partition = KafkaHeader(name: SluiceHeader.heldPartition, string: "1")
        #expect(hold([KafkaHeader(name: SluiceHeader.heldTopic, string: "t"), partition]) != nil)
        #expect(hold([KafkaHeader(name: SluiceHeader.heldTopic, string: "a/b"), partition]) == nil)
        #expect(hold([KafkaHeader(name: SluiceHeader.heldTopic, string: ""), partition]) == nil)
        #expect(
            hold([
                KafkaHeader(name: SluiceHeader.heldTopic, string: "t"),
                KafkaHeader(name: SluiceHeader.heldPartition, string: "-1"),
            ]) == nil)
        #expect(
            hold([
                KafkaHeader(name: SluiceHeader.heldTopic, string: "t"), partition,
                KafkaHeader(name: SluiceHeader.heldKey, string: String(repeating: "k", count: 2000)),
            ]) == nil)
    }
}
