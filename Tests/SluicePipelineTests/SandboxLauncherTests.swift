import Foundation
import SluiceSandbox
import SluiceSupport
import SluiceTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The launcher run directly (no worker): `script` run by python3 in a sandbox with `code` at /code.
/// Returns the exit status and what it printed.
func runSandboxed(code: String, script: String) async throws -> (status: Int32, output: String) {
    let sandboxing = try await Sandboxing.prepare()
    let command = try sandboxing.command(
        policy: SandboxPolicy(limits: ResourceLimits(memoryMB: 128, cpuMillicores: 1000, pidsMax: 32)), code: code,
        runtime: nil, program: ["/usr/bin/python3", "-c", script])
    defer { command.cgroup?.release() }
    let outputFile = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("sandboxed") + ".out")
    defer { try? FileManager.default.removeItem(at: outputFile) }
    let output = open(outputFile.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    let null = open("/dev/null", O_RDWR | O_CLOEXEC)
    defer {
        close(output)
        close(null)
    }
    let pid = try ChildProcess.spawn(
        command.executable, command.arguments, environment: ["PATH": "/usr/bin:/bin"], directory: "/", stdin: null,
        stdout: output, stderr: output, newSession: false, inherit: command.inherited)
    let status = await withTimeout(.seconds(60), onTimeout: { kill(pid, SIGKILL) }) {
        await BlockingCalls.run { ChildProcess.waitForExit(pid) }
    }
    return (status ?? -1, (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "")
}

@Suite("The sandbox launcher's filter and mounts", .timeLimit(.minutes(3)))
struct SandboxLauncherTests {
    @Test(
        "seccomp is an allow list: io_uring, bpf, userfaultfd and perf_event_open are EPERM, a call it lacks is ENOSYS; threads, subprocesses, multiprocessing and sockets work"
    )
    func allowList() async throws {
        let code = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("code"))
        try FileManager.default.createDirectory(at: code, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: code) }
        // x86_64 numbers: io_uring_setup 425, io_uring_enter 426, io_uring_register 427, bpf 321,
        // userfaultfd 323, perf_event_open 298; 460 is not assigned, 1000 is past the table.
        let script = """
            import ctypes, json, multiprocessing, socket, subprocess, threading
            libc = ctypes.CDLL(None, use_errno=True)
            def errno(number):
                ctypes.set_errno(0)
                result = libc.syscall(number, 0, 0, 0, 0, 0, 0)
                return ctypes.get_errno() if result == -1 else 0
            calls = {n: errno(n) for n in (425, 426, 427, 321, 323, 298, 460, 1000)}
            t = threading.Thread(target=lambda: None); t.start(); t.join()
            sub = subprocess.run(["/bin/echo", "sub"], capture_output=True).stdout.decode().strip()
            with multiprocessing.Pool(2) as pool: squares = pool.map(abs, [-1, -2])
            a, b = socket.socketpair(); a.send(b"hi")
            print(json.dumps({"calls": calls, "sub": sub, "pool": squares, "socket": b.recv(2).decode()}))
            """
        let (status, output) = try await runSandboxed(code: code.path, script: script)
        #expect(status == 0, "\(output)")
        let line = try #require(output.split(separator: "\n").last.map(String.init), "\(output)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let calls = try #require(report["calls"] as? [String: Int])
        for number in ["425", "426", "427", "321", "323", "298"] {
            #expect(calls[number] == Int(EPERM), "syscall \(number): errno \(calls[number] ?? -1)")
        }
        #expect(calls["460"] == Int(ENOSYS) && calls["1000"] == Int(ENOSYS), "\(calls)")
        #expect(report["sub"] as? String == "sub")
        #expect(report["pool"] as? [Int] == [1, 2])
        #expect(report["socket"] as? String == "hi")
    }

    @Test("A bound folder is read-only all the way down: a mount below the code folder cannot be written")
    func recursiveReadOnly() async throws {
        let code = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("code"))
        let below = code.appendingPathComponent("below")
        try FileManager.default.createDirectory(at: below, withIntermediateDirectories: true)
        guard mount("sluice-test", below.path, "tmpfs", 0, "size=1m") == 0 else {
            Issue.record("cannot mount a tmpfs at \(below.path): \(String(cString: strerror(errno)))")
            return
        }
        defer {
            umount2(below.path, Int32(MNT_DETACH))
            try? FileManager.default.removeItem(at: code)
        }
        let script = """
            import errno
            try:
                open("/code/below/written", "w").write("x")
                print("written")
            except OSError as error:
                print(errno.errorcode[error.errno])
            """
        let (status, output) = try await runSandboxed(code: code.path, script: script)
        #expect(status == 0, "\(output)")
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "EROFS", "\(output)")
    }
}
