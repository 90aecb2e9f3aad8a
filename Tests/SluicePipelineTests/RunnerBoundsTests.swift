import Foundation
import SluiceFunctions
import SluiceRuntime
import SluiceTesting
import Testing

/// An invocation whose event is the JSON string `event` (its id names it too).
private func input(_ event: String) -> InvocationInput {
    InvocationInput(invocationID: "inv_\(event)", event: Array("\"\(event)\"".utf8), contextJSON: Array("{}".utf8))
}

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

    /// A function in a fresh folder: `files` written there (`.sh` files executable).
    func spec(_ runtime: FunctionManifest.Runtime, handler: String, files: [String: String]) throws -> FunctionSpec {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("flood"))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (name, text) in files {
            let path = folder.appendingPathComponent(name)
            try text.write(to: path, atomically: true, encoding: .utf8)
            if name.hasSuffix(".sh") {
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path.path)
            }
        }
        var manifest = FunctionManifest(
            name: uniqueName("flood"), tenant: "acme", runtime: runtime, handler: handler, codePath: folder.path)
        manifest.timeoutSeconds = 120
        return FunctionSpec(manifest: manifest, version: 1, codeHash: uniqueName("hash"))
    }

    @Test(
        "An exec function writing /dev/zero to its output is killed at 1 MB: a final error naming the limit, not a timeout"
    )
    func execFlood() async throws {
        let flood = try spec(.exec, handler: "flood.sh", files: ["flood.sh": "#!/bin/sh\nexec cat /dev/zero\n"])
        let runner = FunctionRunner(launcher: try await TestSandbox.launcher())
        let outcome = await runner.invoke(
            flood, InvocationInput(invocationID: "inv_flood", event: nil, contextJSON: Array("{}".utf8)))
        await runner.shutdown()
        #expect(outcome.status == .error, "\(outcome.status): \(outcome.error ?? "")")
        #expect(outcome.retryable == false)
        #expect(outcome.error?.contains("more than 1048576 bytes") == true, "\(outcome.error ?? "")")
    }

    @Test(
        "A python function writing garbage to the protocol descriptor is killed: a 4 GB frame header, or 64 MB of bytes, is a final error naming the limit, a forged frame with NaN a crash not retried; the next invocation gets a new process"
    )
    func pythonFlood() async throws {
        let flood = try spec(
            .python3, handler: "handler.main",
            files: [
                "handler.py": """
                import os, sys
                def main(event, context):
                    # The runtime's own descriptor for frames (fd 1 goes to stderr).
                    out = sys.modules['__main__'].protocol_out.fileno()
                    if event == 'header':
                        os.write(out, b'\\xff\\xff\\xff\\xff')
                    elif event == 'nan':
                        return float('nan')
                    elif event == 'forged':
                        body = b'{"ok":true,"output":NaN}'
                        os.write(out, len(body).to_bytes(4, 'big') + body)
                    elif event == 'stream':
                        chunk = b'\\x00\\xff\\xff\\xfe' + b'x' * 1048576
                        for _ in range(64):
                            os.write(out, chunk)
                    return 'ok'
                """
            ])
        let runner = FunctionRunner(launcher: try await TestSandbox.launcher())
        let header = await runner.invoke(flood, input("header"))
        let fine = await runner.invoke(flood, input("fine"))
        let nan = await runner.invoke(flood, input("nan"))
        let forged = await runner.invoke(flood, input("forged"))
        let afterForged = await runner.invoke(flood, input("fine"))
        let stream = await runner.invoke(flood, input("stream"))
        await runner.shutdown()
        #expect(header.status == .error && header.retryable == false, "\(header.status): \(header.error ?? "")")
        #expect(header.error?.contains("bytes in one reply") == true, "\(header.error ?? "")")
        #expect(fine.status == .success, "\(fine.status): \(fine.error ?? "")")
        #expect(nan.status == .error && nan.retryable == false, "\(nan.status): \(nan.error ?? "")")
        #expect(nan.error?.contains("not JSON-serializable") == true, "\(nan.error ?? "")")
        #expect(forged.status == .crash && forged.retryable == false, "\(forged.status): \(forged.error ?? "")")
        #expect(forged.error?.contains("not valid JSON") == true)
        #expect(afterForged.status == .success && afterForged.output == Array("\"ok\"".utf8))
        #expect(stream.status != .success && stream.status != .timeout, "\(stream.status): \(stream.error ?? "")")
    }
}
