import SluiceRecords
import Testing

@testable import SluiceKafka

@Suite("Consumer buffer bounds (pure logic)")
struct ConsumerEventBufferTests {
    func record(_ offset: Int64, partition: Int32 = 0) -> ConsumerEvent {
        .record(
            ConsumerRecord(
                topic: "t", partition: partition, offset: offset, timestampMs: 0, key: nil, value: [], headers: []))
    }

    @Test("Full at capacity, room again only below half, events in order")
    func fullAndRoom() async {
        let buffer = ConsumerEventBuffer(capacity: 10)
        for offset in Int64(0)..<9 { buffer.push(record(offset)) }
        #expect(!buffer.isFull)
        buffer.push(.assigned([TopicPartition("t", 0)]))  // events other than records do not count
        #expect(!buffer.isFull)
        buffer.push(record(9))
        #expect(buffer.isFull)
        #expect(!buffer.hasRoom)
        var offsets: [Int64] = []
        for _ in 0..<5 {
            if case .record(let r) = await buffer.next() { offsets.append(r.offset) }
        }
        #expect(offsets == [0, 1, 2, 3, 4])
        #expect(buffer.hasRoom)
        #expect(buffer.bufferedRecords == 5)
    }

    @Test("Full at the byte capacity too: four 300 KB records fill a 1 MB buffer whatever its record count")
    func fullByBytes() async {
        let buffer = ConsumerEventBuffer(capacity: 10_000, byteCapacity: 1_000_000)
        func big(_ offset: Int64) -> ConsumerEvent {
            .record(
                ConsumerRecord(
                    topic: "t", partition: 0, offset: offset, timestampMs: 0, key: [1, 2],
                    value: [UInt8](repeating: 0, count: 300_000), headers: [KafkaHeader(name: "h", string: "v")]))
        }
        for offset in Int64(0)..<3 { buffer.push(big(offset)) }
        #expect(!buffer.isFull)
        #expect(buffer.bufferedBytes == 3 * 300_004)
        buffer.push(big(3))
        #expect(buffer.isFull)
        for _ in 0..<2 { _ = await buffer.next() }
        #expect(!buffer.hasRoom)  // 600 KB left: room only at half the bytes
        _ = await buffer.next()
        #expect(buffer.hasRoom)
        #expect(buffer.bufferedBytes == 300_004)
    }

    @Test("Dropping a revoked partition keeps the others, in order")
    func dropPartition() async {
        let buffer = ConsumerEventBuffer(capacity: 100)
        for offset in Int64(0)..<6 { buffer.push(record(offset, partition: Int32(offset % 2))) }
        buffer.dropRecords(of: [TopicPartition("t", 1)])
        #expect(buffer.bufferedRecords == 3)
        var left: [Int64] = []
        for _ in 0..<3 { if case .record(let r) = await buffer.next() { left.append(r.offset) } }
        #expect(left == [0, 2, 4])
    }

    @Test("A waiting reader gets nil when the buffer finishes")
    func finish() async {
        let buffer = ConsumerEventBuffer(capacity: 1)
        async let next = buffer.next()
        buffer.finish()
        #expect(await next == nil)
    }

    @Test("traceparent parses, rejects malformed headers, and a child keeps the trace id")
    func traceParent() throws {
        let started = TraceParent.start()
        let parsed = try #require(TraceParent(header: started.description))
        #expect(parsed == started)
        #expect(parsed.child().traceID == started.traceID)
        #expect(parsed.child().parentID != started.parentID)
        #expect(TraceParent(header: "00-00000000000000000000000000000000-0000000000000001-01") == nil)
        #expect(TraceParent(header: "garbage") == nil)
    }
}
