import Foundation
import SluiceRecords
import SluiceTesting
import Testing

@Suite("A worker stopped with SIGTERM hands its work over", .timeLimit(.minutes(10)))
struct GracefulShutdownTests {
    @Test(
        "SIGTERM with 8 invocations in flight: they finish, the rest goes to the next owner, exit 0 within the grace period"
    )
    func sigtermWithWorkInFlight() async throws {
        try await HeavyLoad.exclusive { try await sigtermAlone() }
    }

    func sigtermAlone() async throws {
        let harness = try await PipelineHarness.make()
        let name = try await harness.deployPython(
            "graceful", code: "import time\ndef main(event, context):\n    time.sleep(5)\n    return event\n",
            fields: "max_concurrency: 8\nordering: none\ntimeout_seconds: 90\n")
        let arguments =
            harness.workerArguments + ["--group", "graceful-\(harness.invocationsTopic)", "--concurrency", "8"]
        let first = try BackgroundSluice(["worker", "--id", "graceful-first"] + arguments)
        let ids = try await harness.publishRequests(function: name, count: 20, key: { _ in nil }, value: { "\($0)" })

        // Eight running (its load sample says so), twelve taken or waiting behind them.
        _ = try await nextLoadSample(harness.connection, timeout: .seconds(120)) {
            $0.workerID == "graceful-first" && $0.inFlight == 8
        }
        let (status, seconds) = try await withDeadline(.seconds(60), "the worker's exit after SIGTERM") {
            await first.terminate()
        }
        #expect(status == 0, "exit status \(status); log:\n\(first.log.suffix(2000))")
        #expect(seconds < 30, "the graceful shutdown took \(seconds) s, past the 30 s grace period")

        let second = try BackgroundSluice(["worker", "--id", "graceful-second"] + arguments)
        let results = try await harness.readJSON("sluice.results", function: name, timeout: .seconds(180)) { results in
            Set(results.compactMap { $0["status"] as? String == "success" ? $0["invocation_id"] as? String : nil })
                .count >= 20
        }
        second.stop()
        let successes = results.filter { $0["status"] as? String == "success" }
        var byID: [String: [String]] = [:]
        for result in successes {
            byID[result["invocation_id"] as? String ?? "", default: []].append(result["worker_id"] as? String ?? "")
        }
        #expect(Set(byID.keys) == Set(ids), "some events have no success result")
        #expect(
            byID.values.allSatisfy { $0.count == 1 }, "an invocation ran twice: \(byID.filter { $0.value.count > 1 })")
        let byFirst = byID.values.filter { $0 == ["graceful-first"] }.count
        let bySecond = byID.values.filter { $0 == ["graceful-second"] }.count
        // The eight running at SIGTERM finished on the first worker; what had not started went to the next owner.
        #expect(byFirst >= 8, "only \(byFirst) finished on the stopped worker")
        #expect(bySecond >= 1 && byFirst + bySecond == 20, "first \(byFirst), second \(bySecond)")
    }
}
