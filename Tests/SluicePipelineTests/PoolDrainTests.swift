import Foundation
import SluiceFunctions
import SluiceTesting
import Testing

@testable import SluiceRuntime

/// A version that leaves the registry while its processes run (a deploy): they finish, then end.
@Suite("Warm pools drain", .timeLimit(.minutes(3)))
struct PoolDrainTests {
    @Test(
        "A pool shut down while its process runs an invocation: the process ends once released, and no standby follows it"
    )
    func drain() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("drained"))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "def main(event, context):\n    return 1\n".write(
            to: folder.appendingPathComponent("handler.py"), atomically: true, encoding: .utf8)
        let spec = FunctionSpec(
            manifest: FunctionManifest(
                name: uniqueName("drained"), tenant: "acme", runtime: .python3, handler: "handler.main",
                codePath: folder.path),
            version: 1, codeHash: uniqueName("hash"))
        let budget = StandbyBudget(limit: 1)
        let pool = WarmPool(spec: spec, launcher: try await TestSandbox.launcher(), standbys: budget)
        let input = InvocationInput(invocationID: uniqueName("inv"), event: nil, contextJSON: Array("{}".utf8))
        guard case .lead(nil) = await pool.turn(for: input, maxProcesses: 1) else {
            Issue.record("the first invocation did not lead on a new process")
            return
        }
        let process = try await pool.start()
        #expect(await pool.warmCount == 1)
        await pool.shutdown()  // the version leaves while its invocation runs
        #expect(process.process.exitStatus == nil, "a busy process was stopped")
        await pool.release(process, healthy: true)  // the invocation ends
        #expect(await pool.warmCount == 0, "the retired pool kept the process")
        #expect(process.process.exitStatus != nil, "the drained process still runs")
        #expect(budget.take(), "the retired pool took the standby budget for a standby of its own")
    }
}
