import Foundation
import SluiceFunctions
import SluiceRuntime
import SluiceTesting
import Testing

@Suite("What a function returns is bounded before it reaches Kafka", .timeLimit(.minutes(2)))
struct RunnerBoundsTests {
    @Test("A 2 MB exception message and traceback are cut to 4 KB and 16 KB; the process stays warm")
    func hugeException() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("huge-error"))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try """
        def deep(n):
            if n == 0:
                raise ValueError('x' * 2_000_000)
            return deep(n - 1)
        def main(event, context):
            if event == 'fine':
                return 'ok'
            return deep(900)
        """.write(to: folder.appendingPathComponent("handler.py"), atomically: true, encoding: .utf8)
        let manifest = FunctionManifest(
            name: uniqueName("huge"), tenant: "acme", runtime: .python3, handler: "handler.main", codePath: folder.path)
        let spec = FunctionSpec(manifest: manifest, version: 1, codeHash: uniqueName("hash"))
        let runner = FunctionRunner(launcher: try await TestSandbox.launcher())
        func input(_ event: String) -> InvocationInput {
            InvocationInput(
                invocationID: "inv_\(event)", event: Array("\"\(event)\"".utf8), contextJSON: Array("{}".utf8))
        }
        let failed = await runner.invoke(spec, input("boom"))
        let next = await runner.invoke(spec, input("fine"))
        await runner.shutdown()
        #expect(failed.status == .error)
        let error = try #require(failed.error)
        #expect(error.hasPrefix("ValueError: xxxx"))
        #expect(error.utf8.count <= 4_096 + 64, "error of \(error.utf8.count) bytes")
        #expect(error.contains("bytes cut"))
        let traceback = try #require(failed.traceback)
        #expect(traceback.utf8.count <= 16_384 + 64, "traceback of \(traceback.utf8.count) bytes")
        #expect(traceback.hasPrefix(" …["), "the traceback's end is kept, its start cut")
        #expect(next.status == .success)
        #expect(next.processID == failed.processID, "an error replaced the warm process")
    }
}
