import Foundation
import SluiceBench
import Testing

@Suite("Saved benchmark runs and their comparison")
struct BenchmarkRunTests {
    let before = BenchmarkRun(
        commit: "aaaaaaa", date: "2026-11-30T09:00:00.000Z",
        figures: [
            BenchmarkFigure("pipeline.events_per_s", 3000, "events/s", .higherIsBetter),
            BenchmarkFigure("pipeline.latency_p50_ms", 40, "ms", .lowerIsBetter, baseline: 8),
            BenchmarkFigure("sandbox.start_p50_ms", 3, "ms", .lowerIsBetter, baseline: 3),
        ])

    @Test("A change counts as worse by the figure's direction, past the threshold only")
    func comparison() {
        let after = BenchmarkRun(
            commit: "bbbbbbb", date: "2026-11-30T10:00:00.000Z",
            figures: [
                // 16.7 % fewer: worse
                BenchmarkFigure("pipeline.events_per_s", 2500, "events/s", .higherIsBetter),
                // faster: better
                BenchmarkFigure("pipeline.latency_p50_ms", 30, "ms", .lowerIsBetter, baseline: 8),
                // 6.7 % slower: within
                BenchmarkFigure("sandbox.start_p50_ms", 3.2, "ms", .lowerIsBetter, baseline: 3),
                // new
                BenchmarkFigure("scaling.onset_to_added_worker_result_s", 7, "s", .lowerIsBetter),
            ])
        let (table, worse) = after.compared(with: before)
        #expect(worse == ["pipeline.events_per_s"])
        #expect(table.contains("-16.7 %  WORSE") && table.contains("+25.0 %") && table.contains("new"), "\(table)")
        #expect(
            after.compared(with: before, threshold: 0.05).worse == ["pipeline.events_per_s", "sandbox.start_p50_ms"])
        #expect(before.figures[1].ratio == 5)
    }

    @Test("A saved run loads back unchanged; a missing or foreign file is an error naming it")
    func saveAndLoad() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try before.save(in: folder)
        #expect(path.hasSuffix("/2026-11-30-aaaaaaa.json"))
        #expect(try BenchmarkRun.load(path: path).figures == before.figures)
        #expect(throws: (any Error).self) {
            try BenchmarkRun.load(path: folder.appendingPathComponent("none.json").path)
        }
        let foreign = folder.appendingPathComponent("foreign.json")
        try Data("{\"x\": 1}".utf8).write(to: foreign)
        do {
            _ = try BenchmarkRun.load(path: foreign.path)
            Issue.record("a foreign file loaded")
        } catch {
            #expect("\(error)".contains("foreign.json"))
        }
    }
}
