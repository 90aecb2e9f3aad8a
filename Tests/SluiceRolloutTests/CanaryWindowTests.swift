import Foundation
import SluiceFunctions
import SluiceRecords
import SluiceRollout
import Testing

/// The canary judge's arithmetic (pure logic): figures over a sliding window, and the verdict.
@Suite("Canary windows and verdicts")
struct CanaryWindowTests {
    func window(_ change: (inout CanaryPolicy) -> Void = { _ in }) -> CanaryWindow {
        var policy = CanaryPolicy()
        policy.minInvocations = 20
        policy.bakeSeconds = 60
        policy.windowSeconds = 30
        change(&policy)
        return CanaryWindow(stableVersion: 1, canaryVersion: 2, policy: policy, startedAt: 1000)
    }

    /// `count` attempts of `version` at 1 per 0.1 s from `from`: `failures` of them failed, each `ms` long.
    func fill(
        _ window: inout CanaryWindow, version: Int, count: Int, failures: Int = 0, ms: Double = 10, from: Double = 1001
    ) {
        for index in 0..<count {
            window.note(
                version: version, time: from + Double(index) / 10, failed: index < failures, durationMs: ms,
                cold: false)
        }
    }

    @Test("Nothing is decided before min_invocations canary attempts, however bad they are")
    func waitsForEnough() {
        var window = window()
        fill(&window, version: 2, count: 19, failures: 19)
        fill(&window, version: 1, count: 100)
        #expect(window.verdict(now: 1100).verdict == .wait)
        fill(&window, version: 2, count: 1, failures: 1, from: 1010)
        guard case .rollBack(let reason) = window.verdict(now: 1011).verdict else {
            Issue.record("20 failed canary attempts were not rolled back")
            return
        }
        #expect(reason.contains("error rate 100.0 %"), "\(reason)")
    }

    @Test("Error rate: at most max_error_rate_increase above the stable version's is healthy; above is rolled back")
    func errorRate() {
        var healthy = window()
        fill(&healthy, version: 1, count: 100, failures: 10)  // 10 %
        fill(&healthy, version: 2, count: 100, failures: 14)  // 14 %: +4 points, allowed 5
        #expect(healthy.verdict(now: 1020).verdict == .wait, "not baked yet")
        var bad = window()
        fill(&bad, version: 1, count: 100, failures: 10)
        fill(&bad, version: 2, count: 100, failures: 16)  // +6 points
        let (verdict, canary, stable) = bad.verdict(now: 1020)
        #expect(canary == DeployEvent.Figures(version: 2, invocations: 100, errors: 16, p99Ms: 10))
        #expect(stable.errors == 10 && stable.invocations == 100)
        guard case .rollBack = verdict else {
            Issue.record("+6 points of errors was \(verdict)")
            return
        }
    }

    @Test(
        "p99: warm canary attempts over ratio × stable's and over the slack are rolled back; cold starts do not count")
    func latency() {
        var slow = window()
        fill(&slow, version: 1, count: 100, ms: 20)
        fill(&slow, version: 2, count: 100, ms: 90)  // 4.5×, +70 ms
        guard case .rollBack(let reason) = slow.verdict(now: 1020).verdict else {
            Issue.record("a 4.5× p99 was not rolled back")
            return
        }
        #expect(reason.contains("p99 90.0 ms against 20.0 ms"), "\(reason)")
        var withinSlack = window()
        fill(&withinSlack, version: 1, count: 100, ms: 2)
        fill(&withinSlack, version: 2, count: 100, ms: 30)  // 15×, but only +28 ms
        #expect(withinSlack.verdict(now: 1020).verdict == .wait)
        var cold = window()
        fill(&cold, version: 1, count: 100, ms: 20)
        fill(&cold, version: 2, count: 100, ms: 20)
        for index in 0..<10 {
            cold.note(version: 2, time: 1005 + Double(index), failed: false, durationMs: 900, cold: true)
        }
        #expect(cold.verdict(now: 1020).canary.p99Ms == 20, "cold starts are not in the p99")
        #expect(cold.verdict(now: 1020).canary.invocations == 110, "cold starts are attempts")
    }

    @Test(
        "Healthy after bake_seconds: promoted; old attempts leave the window; other versions and earlier attempts are not counted"
    )
    func promotionAndWindow() {
        var window = window()
        fill(&window, version: 1, count: 50)
        fill(&window, version: 2, count: 50, failures: 50)  // bad, at 1001…1006
        fill(&window, version: 2, count: 50, from: 1040)  // good, at 1040…1045
        window.note(version: 3, time: 1041, failed: true, durationMs: 1, cold: false)
        window.note(version: 2, time: 999, failed: true, durationMs: 1, cold: false)
        window.note(version: 2, time: 1041, failed: true, durationMs: .nan, cold: false)
        let (verdict, canary, _) = window.verdict(now: 1061)
        #expect(canary.invocations == 50 && canary.errors == 0, "the window holds the last 30 s only")
        guard case .promote(let reason) = verdict else {
            Issue.record("a healthy canary baked 61 s was \(verdict)")
            return
        }
        #expect(reason.contains("healthy for 61 s"), "\(reason)")
    }

    @Test("Deploy events: encoded and decoded; hostile records (huge, out of range, not JSON) are nil")
    func events() {
        var event = DeployEvent(
            function: "fn", eventType: .rolledBack, fromVersion: 3, toVersion: 2, reason: "error rate",
            decidedBy: "canary-judge")
        event.canary = DeployEvent.Figures(version: 3, invocations: 40, errors: 40, p99Ms: 12.5)
        #expect(DeployEvent.decode(event.encoded()) == event)
        let text = String(decoding: event.encoded(), as: UTF8.self)
        #expect(text.contains("\"event_type\":\"rolled_back\"") && text.contains("\"decided_by\":\"canary-judge\""))
        var negative = event
        negative.toVersion = -1
        var impossible = event
        impossible.canary?.errors = 41
        for bad in [negative.encoded(), impossible.encoded(), Array("{".utf8), Array(repeating: 32, count: 70_000)] {
            #expect(DeployEvent.decode(bad) == nil)
        }
    }
}
