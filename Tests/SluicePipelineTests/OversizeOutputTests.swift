import Foundation
import SluiceTesting
import Testing

@Suite("Outputs too large for a result", .timeLimit(.minutes(3)))
struct OversizeOutputTests {
    @Test("An output too large for a result is an error result naming the limit; the partition moves on")
    func oversizeOutput() async throws {
        let harness = try await PipelineHarness.make()
        let name = uniqueName("huge")
        let handler = "def main(event, context):\n    return 'x' * (1200000 if event == 'big' else 3)\n"
        try await harness.deploy(
            try harness.writeFunction(
                "name: \(name)\ntenant: acme\nruntime: python3\nhandler: handler.main\nordering: partition\n",
                files: ["handler.py": handler]))
        let (registry, follow) = try await harness.liveRegistry()
        let worker = try await harness.startWorker(registry: registry)
        _ = try await harness.publishRequests(
            function: name, count: 2, key: { _ in "same" }, value: { $0 == 0 ? "big" : "small" })
        let results = try await harness.readJSON("sluice.results", function: name) { $0.count >= 2 }
        await worker.stop()
        follow.cancel()
        let big = try #require(results.first { $0["status"] as? String == "error" })
        #expect((big["error"] as? String)?.contains("results hold at most") == true)
        #expect(results.contains { $0["status"] as? String == "success" && $0["output"] as? String == "xxx" })
    }
}
