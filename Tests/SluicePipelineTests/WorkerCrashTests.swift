import Foundation
import SluiceFunctions
import SluiceKafka
import SluicePipeline
import SluiceTesting
import Testing

@Suite("Worker processes killed with SIGKILL lose nothing", .timeLimit(.minutes(5)))
struct WorkerCrashTests {
    @Test("SIGKILL a worker while 5000 events are in flight, start another: every event succeeds exactly once")
    func sigkillWorker() async throws {
        let harness = try await PipelineHarness.make()
        let name = uniqueName("crashy")
        try await harness.deploy(try harness.writeFunction("""
            name: \(name)
            tenant: acme
            runtime: python3
            handler: handler.main
            max_concurrency: 8
            ordering: none
            """, files: ["handler.py": "def main(event, context):\n    return event\n"]))
        let brokers = harness.connection.brokerList
        let arguments = ["worker", "--brokers", brokers, "--invocations-topic", harness.invocationsTopic, "--group", "crash-\(harness.invocationsTopic)", "--concurrency", "8"]
        let first = try BackgroundSluice(arguments + ["--id", "first"])
        let ids = try await harness.publishRequests(function: name, count: 5000, key: { "k\($0 % 100)" }, value: { "\($0)" })

        // Kill it once it has produced some results but (almost certainly) not all.
        let progress = try await harness.readJSON("sluice.results", function: name) { $0.count >= 300 }
        first.killHard()
        #expect(progress.count < 5000, "the first worker finished everything before it was killed")

        let second = try BackgroundSluice(arguments + ["--id", "second"])
        let results = try await harness.readJSON("sluice.results", function: name, timeout: .seconds(200)) { results in
            Set(results.compactMap { $0["status"] as? String == "success" ? $0["invocation_id"] as? String : nil }).count >= 5000
        }
        second.stop()

        let successes = results.filter { $0["status"] as? String == "success" }.compactMap { $0["invocation_id"] as? String }
        #expect(Set(successes) == Set(ids), "some events have no success result")
        var counts: [String: Int] = [:]
        for id in successes { counts[id, default: 0] += 1 }
        let doubled = counts.filter { $0.value > 1 }
        #expect(doubled.isEmpty, "\(doubled.count) invocations have two success results, e.g. \(doubled.first.map { $0.key } ?? "")")
        #expect(Set(results.compactMap { $0["worker_id"] as? String }) == ["first", "second"])
    }
}
