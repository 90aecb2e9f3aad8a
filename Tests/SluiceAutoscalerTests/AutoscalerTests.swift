import Foundation
import SluiceAutoscaler
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
            LoadSignal(time: Double(t), lagByPartition: [3: Int64(50 + t * 10)], heldByRetry: [3], arrivalRate: 100, inFlight: 1)
        }
        #expect(decisions.isEmpty, "\(decisions.map(\.1.reason))")
        // Without the mark the same lag is backlog, and it scales up.
        var unmarked = Autoscaler(functionID: "fn_poison", workers: 1)
        #expect(!run(&unmarked, from: 0, to: 120) { t in
            LoadSignal(time: Double(t), lagByPartition: [3: Int64(5000 + t * 100)], arrivalRate: 100, inFlight: 1)
        }.isEmpty)
    }

    @Test("Scaling events encode in the seed's schema")
    func schema() throws {
        var scaler = Autoscaler(functionID: "fn_abc", workers: 1)
        let decision = scaler.observe(LoadSignal(time: 0, lagByPartition: [0: 50_000], arrivalRate: 0, inFlight: 0))
        let event = try #require(decision)
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(event)) as? [String: Any])
        for key in ["event_id", "function_id", "event_type", "reason", "instances_before", "instances_after", "timestamp", "autoscaler_version"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect(object["event_type"] as? String == "scale_up")
    }
}
