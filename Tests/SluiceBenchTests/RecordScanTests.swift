import Foundation
import SluiceRecords
import Testing

@testable import SluiceBench

@Suite("Hex ids and the benchmark's scan of results")
struct RecordScanTests {
    @Test("Hex of bytes, contiguous or not; random ids of the asked length, hex only, not repeated")
    func hex() {
        #expect(Hex.encode([0x00, 0x0f, 0xa5, 0xff]) == "000fa5ff")
        #expect(Hex.encode((0..<3).lazy.map { UInt8($0 * 16 + 1) }) == "011121")
        #expect(Hex.encode([UInt8]()) == "")
        let ids = (0..<2000).map { _ in Hex.random(bytes: 12) }
        #expect(ids.allSatisfy { $0.utf8.count == 24 && $0.allSatisfy(\.isHexDigit) })
        // 2,000 draws of 12 bytes span several refills of the 4 KB pool.
        #expect(Set(ids).count == ids.count)
        let trace = TraceParent.start()
        #expect(TraceParent(header: trace.description) != nil)
        #expect(trace.child().traceID == trace.traceID && trace.child().parentID != trace.parentID)
    }

    @Test("Stage marks and the echoed send time are read from a result as the worker writes it")
    func stageMarks() throws {
        let result = Array(
            """
            {"invocation_id":"inv_1","output":{"t":1796069555123456,"pad":"xx"},"duration_ms":1.5,\
            "stages":{"enqueued_ms":1796069555124,"taken_ms":1796069555125.250,"started_ms":1796069555126.500,\
            "ended_ms":1796069555127.750}}
            """.utf8)
        let marks = try #require(ResultReader.stageMarks(result))
        #expect(marks.enqueued == 1_796_069_555_124_000)
        #expect(marks.taken == 1_796_069_555_125_250)
        #expect(marks.started == 1_796_069_555_126_500)
        #expect(marks.ended == 1_796_069_555_127_750)
        #expect(ResultReader.outputTimestamp(result) == 1_796_069_555_123_456)
        #expect(ResultReader.stageMarks(Array(#"{"stages":{"taken_ms":1}}"#.utf8)) == nil)
        #expect(ResultReader.stageMarks([]) == nil)
    }
}
