import Foundation
import SluiceAutoscaler
import SluiceRecords
import Testing

@Suite("Autoscaler decisions on recorded signal sequences (pure logic)")
struct AutoscalerTests {
    /// Feeds one signal per second from `from` to `to` (exclusive); returns the decisions with their times.
    func run(_ scaler: inout Autoscaler, from: Int, to: Int, _ signal: (Int) -> LoadSignal) -> [(Int, ScalingEvent)] {
        (from..<to).compactMap { second in scaler.observe(signal(second)).map { (second, $0) } }
    }

    func steady(_ t: Int, rate: Double = 200, lag: Int64 = 0) -> LoadSignal {
        LoadSignal(time: Double(t), lagByPartition: [0: lag], arrivalRate: rate, inFlight: rate > 0 ? 4 : 0)
    }

    @Test("A step to a 20 000-record backlog scales up on the first signal that shows it")
    func stepBacklog() {
        var scaler = Autoscaler(functionID: "fn_step", workers: 1)
        #expect(run(&scaler, from: 0, to: 10) { steady($0) }.isEmpty)
        let decisions = run(&scaler, from: 10, to: 12) { t in
            LoadSignal(time: Double(t), lagByPartition: [0: 10_000, 1: 10_000], arrivalRate: 200, inFlight: 8)
        }
        let first = decisions.first
        #expect(first?.0 == 10, "decided at second \(String(describing: first?.0))")
        #expect(first?.1.eventType == .scaleUp)
        #expect(first?.1.instancesBefore == 1)
        #expect((first?.1.instancesAfter ?? 0) >= 3)
        #expect((first?.1.instancesAfter ?? 99) <= 6, "never more workers than partitions")
        #expect(first?.1.reason == "backlog_20000_records")
        #expect(first?.1.autoscalerVersion == Autoscaler.version)
    }

    @Test("Load oscillating every 2 s for 3 minutes does not make it flap")
    func oscillation() {
        var scaler = Autoscaler(functionID: "fn_wave", workers: 1)
        let decisions = run(&scaler, from: 0, to: 180) { t in steady(t, rate: (t / 2) % 2 == 0 ? 2500 : 300) }
        #expect(decisions.count <= 1, "\(decisions.map { "\($0.0): \($0.1.instancesBefore)→\($0.1.instancesAfter)" })")
        #expect(decisions.allSatisfy { $0.1.eventType == .scaleUp })
    }

    @Test("Scales down only after the window, then to zero after the idle period")
    func idle() {
        var scaler = Autoscaler(functionID: "fn_idle", workers: 4)
        let decisions = run(&scaler, from: 0, to: 200) { t in t < 20 ? steady(t, rate: 3500) : steady(t, rate: 0) }
        let down = decisions.first { $0.1.eventType == .scaleDown || $0.1.eventType == .scaleToZero }
        #expect((down?.0 ?? 0) >= 20 + 27, "scaled down within the stabilization window")
        let zero = decisions.first { $0.1.eventType == .scaleToZero }
        #expect(zero != nil)
        #expect((zero?.0 ?? 0) >= 19 + 60, "to zero before 60 s of idleness after the last busy second (19)")
        #expect(scaler.workers == 0)
    }

    @Test("Lag from one record held in retry does not scale up")
    func poisonLag() {
        var scaler = Autoscaler(functionID: "fn_poison", workers: 1)
        let decisions = run(&scaler, from: 0, to: 120) { t in
            LoadSignal(
                time: Double(t), lagByPartition: [3: Int64(50 + t * 10)], heldByRetry: [3], arrivalRate: 100,
                inFlight: 1)
        }
        #expect(decisions.isEmpty, "\(decisions.map(\.1.reason))")
        // Without the mark the same lag is backlog, and it scales up.
        var unmarked = Autoscaler(functionID: "fn_poison", workers: 1)
        #expect(
            !run(&unmarked, from: 0, to: 120) { t in
                LoadSignal(time: Double(t), lagByPartition: [3: Int64(5000 + t * 100)], arrivalRate: 100, inFlight: 1)
            }.isEmpty)
    }

    @Test("Scaling events encode in the seed's schema")
    func schema() throws {
        var scaler = Autoscaler(functionID: "fn_abc", workers: 1)
        let decision = scaler.observe(LoadSignal(time: 0, lagByPartition: [0: 50_000], arrivalRate: 0, inFlight: 0))
        let event = try #require(decision)
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(event)) as? [String: Any])
        for key in [
            "event_id", "function_id", "event_type", "reason", "instances_before", "instances_after", "timestamp",
            "autoscaler_version",
        ] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect(object["event_type"] as? String == "scale_up")
    }
}

@Suite("Per-function warm processes and concurrency on recorded signals (pure logic)")
struct FunctionScalerTests {
    func run(_ scaler: inout FunctionScaler, from: Int, to: Int, workers: Int = 2, _ signal: (Int) -> FunctionSignal)
        -> [(Int, ScalingEvent)]
    {
        (from..<to).compactMap { second in scaler.observe(signal(second), workers: workers).map { (second, $0) } }
    }

    func load(_ t: Int, rate: Double, durationMs: Double = 100, inFlight: Int = 0, queued: Int = 0) -> FunctionSignal {
        FunctionSignal(
            time: Double(t), invocationsPerSecond: rate, meanDurationMs: durationMs, inFlight: inFlight, queued: queued)
    }

    @Test("Rising load sizes the warm pool by Little's law plus a reserve per worker, on the first signal")
    func rising() throws {
        var scaler = FunctionScaler(functionID: "fn_rise")
        let decisions = run(&scaler, from: 0, to: 3) { load($0, rate: $0 < 1 ? 10 : 200, inFlight: $0 < 1 ? 1 : 3) }
        // 10/s × 0.1 s = 1 running → 1 + 2 reserve; then 200/s × 0.1 s = 20 → 20 + 2.
        #expect(decisions.map(\.0) == [0, 1])
        #expect(decisions.map(\.1.instancesAfter) == [3, 22])
        #expect(decisions.last?.1.warmProcesses == 11)
        #expect(decisions.last?.1.concurrency == 11)
        #expect(decisions.allSatisfy { $0.1.eventType == .scaleUp })
    }

    @Test("Queued records lift the concurrency limit at once; it returns only after a window without a queue")
    func queued() {
        var scaler = FunctionScaler(functionID: "fn_queue")
        _ = run(&scaler, from: 0, to: 5) { load($0, rate: 50, inFlight: 5) }
        #expect(scaler.concurrency != nil)
        let lifted = run(&scaler, from: 5, to: 6) { load($0, rate: 50, inFlight: 5, queued: 400) }
        #expect(lifted.count == 1)
        #expect(lifted.first?.1.concurrency == nil)
        #expect(lifted.first?.1.eventType == .scaleUp)
        let after = run(&scaler, from: 6, to: 60) { load($0, rate: 50, inFlight: 5) }
        let restored = after.first { $0.1.concurrency != nil }
        #expect((restored?.0 ?? 0) >= 5 + 30, "limit restored at \(String(describing: restored?.0))")
    }

    @Test("Nothing runs for a while but the pool has a backlog (a rebalance stall): no scale to zero until it drains")
    func backlogIsNotIdle() {
        var scaler = FunctionScaler(functionID: "fn_stall")
        _ = run(&scaler, from: 0, to: 10) { load($0, rate: 100) }
        // 100 s with nothing running while 5000 records wait, then 100 s with neither.
        let stalled = run(&scaler, from: 10, to: 110) { second in
            FunctionSignal(
                time: Double(second), invocationsPerSecond: 0, meanDurationMs: 100, inFlight: 0, queued: 0,
                backlog: 5000)
        }
        #expect(!stalled.contains { $0.1.eventType == .scaleToZero }, "scaled to zero with 5000 records waiting")
        let drained = run(&scaler, from: 110, to: 300) { load($0, rate: 0) }
        let zero = drained.first { $0.1.eventType == .scaleToZero }
        #expect((zero?.0 ?? 0) >= 109 + 60, "to zero before 60 s after the backlog drained")
    }

    @Test("Load oscillating every 2 s does not flap; idle goes to zero after the idle period")
    func oscillationThenIdle() {
        var scaler = FunctionScaler(functionID: "fn_wave")
        let wave = run(&scaler, from: 0, to: 120) { load($0, rate: ($0 / 2) % 2 == 0 ? 300 : 40, inFlight: 2) }
        #expect(wave.count <= 2, "\(wave.map { "\($0.0): \($0.1.instancesBefore)→\($0.1.instancesAfter)" })")
        let idle = run(&scaler, from: 120, to: 300) { load($0, rate: 0) }
        let zero = idle.first { $0.1.eventType == .scaleToZero }
        #expect(zero != nil)
        #expect((zero?.0 ?? 0) >= 119 + 60)
        #expect(zero?.1.instancesAfter == 0 && zero?.1.warmProcesses == 0)
        #expect(scaler.instances == 0)
    }
}

@Suite("Per-worker throughput measured under backlog (pure logic)")
struct MeasuredThroughputTests {
    @Test("Workers slower than the policy's figure: the backlog still gets enough of them, once measured")
    func slowWorkers() {
        var scaler = Autoscaler(functionID: "fn_slow", workers: 1)
        // 3300 records waiting, one worker finishing 90/s: the policy's 1000/s would keep one worker.
        let first = scaler.observe(
            LoadSignal(time: 0, lagByPartition: [0: 3300], arrivalRate: 0, inFlight: 16, consumeRate: 90))
        #expect(first?.instancesAfter == 4, "330/s wanted at 90/s a worker")
        // Right after the change, the new workers are still joining: their low rate is not taken as capacity.
        let joining = scaler.observe(
            LoadSignal(time: 2, lagByPartition: [0: 3200], arrivalRate: 0, inFlight: 16, consumeRate: 20))
        #expect(joining == nil)
        #expect(scaler.measuredThroughput == 90)
    }
}
