import Foundation
import SluiceRecords
import Testing

@testable import SluicePipeline

@Suite("Byte budgets and clamped load samples (pure logic)")
struct ByteBudgetTests {
    @Test(
        "A byte budget lets records through while they fit, first come first served; one larger than the limit passes alone"
    )
    func budget() async {
        let budget = ByteBudget(limit: 1000)
        await budget.acquire(600)
        await budget.acquire(400)
        #expect(budget.used == 1000)
        let second = Task { await budget.acquire(300) }
        while budget.waiting < 1 { await Task.yield() }
        let third = Task { await budget.acquire(5000) }
        while budget.waiting < 2 { await Task.yield() }
        budget.release(600)  // 300 fits now; 5000 waits for an empty budget
        await second.value
        #expect(budget.used == 700 && budget.waiting == 1)
        budget.release(400)
        budget.release(300)
        await third.value
        #expect(budget.used == 5000 && budget.waiting == 0)
    }

    @Test("A load sample's numbers are clamped on decode: no count past a million, no negative lag, finite durations")
    func clampedSample() throws {
        let json = """
            {"type":"load_sample","worker_id":"w","group":"g","timestamp":"t","interval_seconds":1e300,\
            "in_flight":9223372036854775807,"queued":-5,"warm_processes":{"f":-1},\
            "functions":{"f":{"in_flight":-1,"invocations":9223372036854775807,"duration_ms_sum":1e308,\
            "warm_processes":3}},"partitions":[{"topic":"t","partition":-3,"lag":-9223372036854775808,\
            "held_by_retry":false}]}
            """
        let sample = try #require(LoadSample.decode(Array(json.utf8)))
        #expect(sample.inFlight == 1_000_000 && sample.queued == 0 && sample.intervalSeconds == 3600)
        #expect(sample.warmProcesses["f"] == 0)
        #expect(sample.functions["f"]?.inFlight == 0 && sample.functions["f"]?.invocations == 1_000_000)
        #expect(sample.functions["f"]?.durationMsSum == 1e12)
        #expect(sample.partitions.first?.lag == 0 && sample.partitions.first?.partition == 0)
        // Sums of every number of a sample cannot overflow.
        #expect(sample.inFlight + sample.queued + (sample.functions["f"]?.invocations ?? 0) < Int.max / 2)
        #expect(LoadSample.decode(Array(#"{"type":"load_sample"}"#.utf8)) == nil)
    }
}
