import Foundation
import Logging
import SluiceFunctions
import SluiceRuntime
import SluiceTesting
import Testing

/// Invocations that queue for a warm python3 process go to it in batches (docs/runtime-protocol.md):
/// real processes in the real sandbox.
@Suite("Warm processes take queued invocations in batches", .timeLimit(.minutes(2)))
struct BatchTests {
    /// A python3 function in a fresh code folder.
    func spec(_ code: String, timeoutSeconds: Double = 10) throws -> FunctionSpec {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("batch-code"))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try code.write(to: folder.appendingPathComponent("handler.py"), atomically: true, encoding: .utf8)
        var manifest = FunctionManifest(
            name: uniqueName("batched"), tenant: "acme", runtime: .python3, handler: "handler.main",
            codePath: folder.path)
        manifest.timeoutSeconds = timeoutSeconds
        return FunctionSpec(manifest: manifest, version: 1, codeHash: uniqueName("hash"))
    }

    func input(_ text: String) -> InvocationInput {
        InvocationInput(invocationID: "inv_\(text)", event: Array("\"\(text)\"".utf8), contextJSON: Array("{}".utf8))
    }

    /// Runs `events` at once on at most `processes` processes; outcomes in the order of `events`.
    func runAll(_ runner: FunctionRunner, _ spec: FunctionSpec, _ events: [String], processes: Int) async
        -> [InvocationOutcome]
    {
        await withTaskGroup(of: (Int, InvocationOutcome).self) { group in
            for (index, event) in events.enumerated() {
                group.addTask { (index, await runner.invoke(spec, input(event), maxProcesses: processes)) }
            }
            var outcomes = [InvocationOutcome?](repeating: nil, count: events.count)
            for await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes.map { $0! }
        }
    }

    /// Each invocation succeeded, or did not run after a failure in its batch and may be retried.
    func expectRanOrRetryable(_ pairs: some Sequence<(String, InvocationOutcome)>) {
        for (event, outcome) in pairs {
            #expect(
                outcome.status == .success || (outcome.status == .crash && outcome.retryable),
                "\(event): \(outcome.status) \(outcome.error ?? "")")
        }
    }

    @Test("200 invocations at once on one process: each gets its own output, in batches of up to 16")
    func batchesKeepEachOutput() async throws {
        let runner = FunctionRunner(launcher: try await TestSandbox.launcher())
        let spec = try spec("def main(event, context):\n    return 'out-' + event\n")
        let events = (0..<200).map { "e\($0)" }
        let outcomes = await runAll(runner, spec, events, processes: 1)
        await runner.shutdown()
        for (event, outcome) in zip(events, outcomes) {
            #expect(outcome.status == .success, "\(event): \(outcome.error ?? "")")
            #expect(outcome.output.map { String(decoding: $0, as: UTF8.self) } == "\"out-\(event)\"")
        }
        #expect(Set(outcomes.map(\.processID)).count == 1, "more than one process ran with maxProcesses 1")
        #expect(outcomes.filter(\.coldStart).count == 1)
        let batched = outcomes.map(\.batchSize)
        #expect(batched.contains { $0 > 1 }, "no invocation ran in a batch")
        #expect(batched.allSatisfy { (1...FunctionRunner.maxBatch).contains($0) })
    }

    @Test("An invocation of a batch that goes over memory_mb is oom; the others ran or are retryable, none is oom")
    func oomInABatch() async throws {
        let runner = FunctionRunner(launcher: try await TestSandbox.launcher())
        var hog = try spec(
            """
            def main(event, context):
                if event == 'hog':
                    return len(bytearray(512 * 1024 * 1024))
                return event
            """)
        hog.manifest.memoryMB = 64
        let events = ["hog"] + (0..<20).map { "small\($0)" }
        let outcomes = await runAll(runner, hog, events, processes: 1)
        await runner.shutdown()
        #expect(outcomes[0].status == .oom, "\(outcomes[0].status) \(outcomes[0].error ?? "")")
        expectRanOrRetryable(zip(events, outcomes).dropFirst())
    }

    @Test("In a batch, an error stays with its invocation; a timeout ends the process and the rest is retryable")
    func failuresInABatch() async throws {
        let runner = FunctionRunner(launcher: try await TestSandbox.launcher())
        let spec = try spec(
            """
            import time
            def main(event, context):
                if event == 'raise':
                    raise ValueError('bad ' + event)
                if event == 'hang':
                    time.sleep(60)
                return event
            """, timeoutSeconds: 1)
        let mixed = (0..<30).map { $0 == 10 ? "raise" : "ok\($0)" }
        let outcomes = await runAll(runner, spec, mixed, processes: 1)
        for (event, outcome) in zip(mixed, outcomes) {
            if event == "raise" {
                #expect(outcome.status == .error)
                #expect(outcome.error?.contains("ValueError: bad raise") == true)
            } else {
                #expect(outcome.status == .success, "\(event): \(outcome.error ?? "")")
            }
        }
        #expect(Set(outcomes.map(\.processID)).count == 1, "an error in a batch replaced the process")

        let withHang = ["hang"] + (0..<20).map { "after\($0)" }
        let ended = await runAll(runner, spec, withHang, processes: 1)
        #expect(ended[0].status == .timeout)
        // Run before the hang, after it on a new process, or not run (retryable) in the hang's batch.
        expectRanOrRetryable(zip(withHang, ended).dropFirst())
        let next = await runner.invoke(spec, input("fine"), maxProcesses: 1)
        await runner.shutdown()
        #expect(next.status == .success)
        #expect(next.processID != ended[0].processID, "the timed-out process was reused")
    }
}
