import Foundation
import SluiceRecords
import SluiceTesting
import Testing

@Suite("A rebalance waits for the invocations it would move", .timeLimit(.minutes(10)))
struct RevocationTests {
    @Test(
        "A second worker joins while the first runs 6 invocations: each runs once, on the first; later events are shared"
    )
    func joinDuringInvocations() async throws {
        try await HeavyLoad.exclusive { try await joinAlone() }
    }

    func joinAlone() async throws {
        let harness = try await PipelineHarness.make()
        // Long enough that the second worker joins while they run (it starts in seconds); well inside the
        // workers' 30 s revocation grace.
        let name = try await harness.deployPython(
            "revoked",
            code: """
                import time
                def main(event, context):
                    if event.startswith("slow"):
                        time.sleep(10)
                    return event
                """,
            fields: "max_concurrency: 8\nordering: none\ntimeout_seconds: 60\n")
        // A grace longer than the default 6 s, so that the slow invocations end well within it.
        let arguments =
            harness.workerArguments + ["--group", "revoke-\(harness.invocationsTopic)", "--revocation-grace", "30"]
        let first = try BackgroundSluice(["worker", "--id", "revoke-first"] + arguments, logLevel: "info")
        defer { first.stop() }
        let slow = try await harness.publishRequests(
            function: name, count: 6, key: { "s\($0)" }, value: { "slow\($0)" })
        _ = try await nextLoadSample(harness.connection, timeout: .seconds(120)) {
            $0.workerID == "revoke-first" && $0.inFlight == 6
        }
        // Joining takes the first worker's partitions away in the middle of its six invocations. Without
        // waiting for them, their new owner would start them again from the committed offset.
        let second = try BackgroundSluice(["worker", "--id", "revoke-second"] + arguments)
        defer { second.stop() }
        let slowResults = try await harness.readJSON("sluice.results", function: name, timeout: .seconds(120)) {
            Set($0.compactMap { $0["invocation_id"] as? String }).count >= 6
        }
        // After the rebalance both workers own partitions: later events are spread over both.
        let later = try await harness.publishRequests(
            function: name, count: 24, key: { "f\($0)" }, value: { "fast\($0)" })
        let results = try await harness.readJSON("sluice.results", function: name, timeout: .seconds(120)) {
            Set($0.compactMap { $0["invocation_id"] as? String }).count >= 30
        }
        // The rebalance came while the slow invocations ran (the first worker waited for them), and they
        // ended within the grace.
        let releases = first.log.split(separator: "\n").filter { $0.contains("revoked partitions released") }
        let waits = releases.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["waited_ms"] as? String
        }.compactMap(Double.init)
        #expect(waits.contains { $0 >= 1000 }, "no revocation waited for running work: \(releases)")
        #expect(!first.log.contains("still runs after the revocation grace"), "\(first.log.suffix(2000))")

        var byID: [String: [String]] = [:]
        for result in results {
            byID[result["invocation_id"] as? String ?? "", default: []].append(result["worker_id"] as? String ?? "")
        }
        #expect(Set(byID.keys) == Set(slow + later), "some events have no result")
        #expect(byID.values.allSatisfy { $0.count == 1 }, "ran twice: \(byID.filter { $0.value.count > 1 })")
        #expect(slow.allSatisfy { byID[$0] == ["revoke-first"] }, "slow ones: \(slow.map { byID[$0] ?? [] })")
        #expect(slowResults.allSatisfy { $0["status"] as? String == "success" })
        let bySecond = later.filter { byID[$0] == ["revoke-second"] }.count
        #expect(bySecond > 0 && bySecond < later.count, "the second worker ran \(bySecond) of \(later.count)")
    }
}
