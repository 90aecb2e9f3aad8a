import SluiceRecords
import Testing

@testable import SluicePipeline

@Suite("The hold of a record in retry, whatever its due header says")
struct RetryDueTests {
    func record(due: String?) -> ConsumerRecord {
        ConsumerRecord(
            topic: "sluice.retry.1s", partition: 0, offset: 0, timestampMs: 0, key: nil, value: nil,
            headers: due.map { [KafkaHeader(name: SluiceHeader.retryDue, string: $0)] } ?? [])
    }

    @Test(
        "Due in 1.5 s waits until then; past, missing or malformed runs at once; far or extreme is held a day at most")
    func bounded() {
        let now: Int64 = 1_800_000_000_000
        #expect(RetryConsumer.waitMs(record(due: String(now + 1500)), nowMs: now) == 1501)
        #expect(RetryConsumer.waitMs(record(due: String(now - 5000)), nowMs: now) == 0)
        #expect(RetryConsumer.waitMs(record(due: nil), nowMs: now) == 0)
        #expect(RetryConsumer.waitMs(record(due: "soon"), nowMs: now) == 0)
        let day = Int64(86_400_000) + 1
        #expect(RetryConsumer.waitMs(record(due: String(now + 365 * 86_400_000)), nowMs: now) == day)
        // These overflowed the old arithmetic and trapped the worker.
        #expect(RetryConsumer.waitMs(record(due: String(Int64.max)), nowMs: now) == day)
        #expect(RetryConsumer.waitMs(record(due: String(Int64.min)), nowMs: now) == 0)
        // Held no longer than the function's longest backoff (and a second): 61 s for max_ms 60000.
        #expect(RetryConsumer.waitMs(record(due: String(now + 86_400_000)), longestMs: 61_000, nowMs: now) == 61_001)
        #expect(RetryConsumer.waitMs(record(due: String(now + 86_400_000)), longestMs: 0, nowMs: now) == 0)
    }
}
