import Foundation
import SluiceTesting
import Testing

@Suite("A worker's memory does not grow with the invocations it has run", .timeLimit(.minutes(10)))
struct WorkerMemoryTests {
    @Test("6,000 invocations after a warm-up of 1,000 add less than 100 MB to the worker's resident memory")
    func memoryStaysFlat() async throws {
        try await HeavyLoad.exclusive { try await memoryAlone() }
    }

    func memoryAlone() async throws {
        let harness = try await PipelineHarness.make()
        let name = try await harness.deployPython(
            "steady", code: "def main(event, context):\n    return event\n",
            fields: "max_concurrency: 4\nordering: none\n")
        let worker = try BackgroundSluice(
            ["worker", "--id", "memory"] + harness.workerArguments + ["--group", "memory-\(harness.invocationsTopic)"])
        defer { worker.stop() }
        // Warm-up: processes started, buffers and caches at their working size.
        var ids = try await harness.publishRequests(function: name, count: 1000, key: { _ in nil }, value: { "w\($0)" })
        try await waitForResults(harness, function: name, count: ids.count)
        let warm = worker.residentMB
        ids += try await harness.publishRequests(function: name, count: 6000, key: { _ in nil }, value: { "e\($0)" })
        try await waitForResults(harness, function: name, count: ids.count)
        let after = worker.residentMB
        print("worker resident memory: \(warm) MB after 1,000 invocations, \(after) MB after 7,000")
        // A finished invocation's task kept by its task group cost some 40 KB in a debug build: 240 MB for
        // these 6,000. Without it the worker grows 20–40 MB here, mostly its index of the results of every
        // test on the shared results topic.
        #expect(warm > 0 && after - warm < 100, "the worker grew from \(warm) MB to \(after) MB")
    }

    private func waitForResults(_ harness: PipelineHarness, function: String, count: Int) async throws {
        let results = try await harness.readJSON("sluice.results", function: function, timeout: .seconds(300)) {
            Set($0.compactMap { $0["invocation_id"] as? String }).count >= count
        }
        let ids = Set(results.compactMap { $0["invocation_id"] as? String })
        #expect(ids.count >= count, "\(ids.count) of \(count) invocations have a result")
    }
}
