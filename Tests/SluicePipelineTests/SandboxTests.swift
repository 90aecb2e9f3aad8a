import Foundation
import SluiceFunctions
import SluiceKafka
import SluicePipeline
import SluiceRegistry
import SluiceTesting
import Testing

/// One pipeline (topics, a sandboxed in-process worker) shared by the hostile-function tests; each test
/// deploys its own functions and invokes them through Kafka.
actor HostileWorld {
    static let shared = HostileWorld()

    private var started: (PipelineHarness, FunctionRegistry)?

    /// Test 11 needs `network: host`, which the platform must allow.
    static let platform: PlatformConfiguration = {
        var platform = PlatformConfiguration()
        platform.allowHostNetwork = true
        return platform
    }()

    func pipeline() async throws -> (PipelineHarness, FunctionRegistry) {
        if let started { return started }
        let harness = try await PipelineHarness.make()
        let (registry, _) = try await harness.liveRegistry(platform: Self.platform)
        // Runs until the test process ends: the tests of this suite share it.
        _ = try await harness.startWorker(
            registry: registry, concurrency: 8, id: "hostile-worker", platform: Self.platform)
        started = (harness, registry)
        return (harness, registry)
    }

    /// Deploys a python3 function (`manifest` lines beyond name, tenant, runtime and handler) and waits
    /// until the worker's registry has it; returns its name and code folder (the code store's copy).
    func deploy(_ prefix: String, tenant: String = "acme", manifest: String = "", handler: String) async throws -> (
        name: String, code: String
    ) {
        let (harness, registry) = try await pipeline()
        let name = uniqueName(prefix)
        // What these tests check does not depend on speed: unless a test is about the timeout, a machine
        // starved by the rest of the suite gets 90 s (the default 30 s was missed once in a clean clone).
        let timeout = manifest.contains("timeout_seconds") ? "" : "timeout_seconds: 90\n"
        let path = try harness.writeFunction(
            "name: \(name)\ntenant: \(tenant)\nruntime: python3\nhandler: handler.main\nretry:\n  max_attempts: 1\n"
                + timeout + manifest,
            files: ["handler.py": handler])
        let spec = try await harness.deploy(path, platform: Self.platform)
        try await withDeadline(.seconds(30), "the worker seeing \(name)") {
            while registry.function(named: name)?.version != spec.version { await registry.waitForChange() }
        }
        return (name, spec.manifest.codePath)
    }

    /// Invokes a function once through the pipeline and returns its final result.
    func invoke(_ function: String, _ event: String) async throws -> [String: any Sendable] {
        let (harness, _) = try await pipeline()
        let id = try await harness.publishRequests(
            function: function, count: 1, key: { _ in nil }, value: { _ in event })[0]
        let results = try await harness.readJSON("sluice.results", function: function, timeout: .seconds(150)) {
            results in
            results.contains { $0["invocation_id"] as? String == id && $0["final"] as? Bool == true }
        }
        return try #require(results.first { $0["invocation_id"] as? String == id && $0["final"] as? Bool == true })
    }

    /// The function's output decoded from a success result.
    func output(_ result: [String: any Sendable]) throws -> [String: any Sendable] {
        #expect(result["status"] as? String == "success", "\(result["error"] ?? "")")
        return try #require(result["output"] as? [String: any Sendable])
    }

    /// The host is unaffected: the broker answers and a harmless function still runs.
    func hostIsFine() async throws {
        let (name, _) = try await deploy("ping", handler: "def main(event, context):\n    return {'pong': event}\n")
        let result = try await invoke(name, "1")
        #expect(result["status"] as? String == "success", "\(result["error"] ?? "")")
    }
}

@Suite("Hostile functions are contained by the sandbox", .timeLimit(.minutes(5)))
struct SandboxTests {
    let world = HostileWorld.shared

    static let libc = "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"

    @Test("1. A fork bomb is stopped by pids_max: EAGAIN inside, a clear error, nothing left running")
    func forkBomb() async throws {
        // The parent forks until the kernel refuses; each child holds its pid. (A recursive bomb, every
        // child forking too, also stays within pids_max, but on a loaded 2-core machine its failing forks
        // starve the parent past the timeout: seen in 2 of 5 clean-clone runs.)
        let (name, _) = try await world.deploy(
            "forkbomb", manifest: "pids_max: 32\ntimeout_seconds: 20\n",
            handler: """
                import os, time
                def main(event, context):
                    children = 0
                    try:
                        while True:
                            if os.fork() == 0:
                                time.sleep(60)
                                os._exit(0)
                            children += 1
                    except OSError as error:
                        raise RuntimeError("fork failed after %d children: errno %d" % (children, error.errno))
                """)
        let result = try await world.invoke(name, "go")
        #expect(result["status"] as? String == "error")
        let error = try #require(result["error"] as? String)
        #expect(error.contains("errno 11"), "\(error)")
        #expect(error.contains("pids_max of 32 was reached"), "\(error)")
        // Launcher, init and python hold 3 of the 32.
        #expect(
            error.contains("fork failed after 29 children") || error.contains("fork failed after 28 children"),
            "\(error)")
        try await world.hostIsFine()
    }

    @Test("2. Allocating 4× memory_mb ends as oom")
    func outOfMemory() async throws {
        let (name, _) = try await world.deploy(
            "hog", manifest: "memory_mb: 64\n",
            handler: """
                def main(event, context):
                    data = b"x" * (256 << 20)
                    return len(data)
                """)
        let result = try await world.invoke(name, "go")
        #expect(result["status"] as? String == "oom")
        #expect(result["final"] as? Bool == true)
        try await world.hostIsFine()
    }

    @Test("3. Opening files until failure: EMFILE inside at open_files; the next invocation succeeds")
    func fileDescriptors() async throws {
        let (name, _) = try await world.deploy(
            "fds", manifest: "open_files: 64\n",
            handler: """
                import os
                def main(event, context):
                    opened = []
                    try:
                        while True:
                            opened.append(os.open("/dev/null", os.O_RDONLY))
                    except OSError as error:
                        code = error.errno
                    for fd in opened:
                        os.close(fd)
                    return {"errno": code, "opened": len(opened)}
                """)
        let first = try await world.output(try await world.invoke(name, "1"))
        #expect(first["errno"] as? Double == 24)
        #expect((first["opened"] as? Double ?? 999) < 64)
        let second = try await world.output(try await world.invoke(name, "2"))
        #expect(second["errno"] as? Double == 24)
    }

    @Test("4. A CPU spin is throttled to cpu_millicores and killed at the timeout")
    func cpuSpin() async throws {
        let (name, _) = try await world.deploy(
            "spin", manifest: "cpu_millicores: 200\ntimeout_seconds: 2\n",
            handler: """
                def main(event, context):
                    while True:
                        pass
                """)
        let result = try await world.invoke(name, "go")
        #expect(result["status"] as? String == "timeout")
        // At 200 millicores the spin gets at most 20 % of the wall time it ran (about 400 ms of 2 s; a
        // loaded machine only gives it less); unthrottled it would use about the whole 2000 ms.
        let cpu = try #require(result["cpu_ms_used"] as? Double)
        let wall = try #require(result["duration_ms"] as? Double)
        #expect(
            result["status"] as? String == "timeout" ? cpu > 0 && cpu <= wall * 0.2 * 1.5 + 30 : false,
            "cpu_ms_used \(cpu) in \(wall) ms; \(result["error"] ?? "")")
        try await world.hostIsFine()
    }

    @Test("5. ptrace of another process is EPERM")
    func ptrace() async throws {
        let (name, _) = try await world.deploy(
            "tracer",
            handler: Self.libc + """
                def main(event, context):
                    result = libc.ptrace(16, 1, None, None)
                    return {"result": result, "errno": ctypes.get_errno()}
                """)
        let output = try await world.output(try await world.invoke(name, "go"))
        #expect(output["result"] as? Double == -1)
        #expect(output["errno"] as? Double == 1)
    }

    @Test("6. mount, unshare and setns are EPERM")
    func namespaceEscapes() async throws {
        let (name, _) = try await world.deploy(
            "escaper",
            handler: Self.libc + """
                def main(event, context):
                    out = {}
                    out["mount"] = (libc.mount(b"none", b"/tmp", b"tmpfs", 0, None), ctypes.get_errno())
                    out["unshare_mount"] = (libc.unshare(0x00020000), ctypes.get_errno())
                    out["unshare_user"] = (libc.unshare(0x10000000), ctypes.get_errno())
                    fd = os.open("/proc/self/ns/net", os.O_RDONLY)
                    out["setns"] = (libc.setns(fd, 0), ctypes.get_errno())
                    return out
                """)
        let output = try await world.output(try await world.invoke(name, "go"))
        for call in ["mount", "unshare_mount", "unshare_user", "setns"] {
            #expect(output[call] as? [Double] == [-1, 1], "\(call): \(String(describing: output[call]))")
        }
    }

    @Test("7. /etc/shadow and /root are not there")
    func hostSecrets() async throws {
        let (name, _) = try await world.deploy(
            "snoop",
            handler: """
                import os
                def main(event, context):
                    out = {}
                    for path in ["/etc/shadow", "/root", "/home"]:
                        try:
                            out[path] = os.listdir(path) if os.path.isdir(path) else open(path).read()
                        except OSError as error:
                            out[path] = error.errno
                    return out
                """)
        let output = try await world.output(try await world.invoke(name, "go"))
        for path in ["/etc/shadow", "/root", "/home"] {
            #expect(output[path] as? Double == 2, "\(path): \(String(describing: output[path]))")
        }
    }

    @Test("8. Writing under /usr or the code folder fails: read-only")
    func readOnlyRoot() async throws {
        let (name, _) = try await world.deploy(
            "scribbler",
            handler: """
                def main(event, context):
                    out = {}
                    for path in ["/usr/evil", "/code/evil", "/code/handler.py", "/evil"]:
                        try:
                            open(path, "w").write("x")
                            out[path] = 0
                        except OSError as error:
                            out[path] = error.errno
                    return out
                """)
        let output = try await world.output(try await world.invoke(name, "go"))
        for path in ["/usr/evil", "/code/evil", "/code/handler.py", "/evil"] {
            #expect(output[path] as? Double == 30, "\(path): \(String(describing: output[path]))")
        }
    }

    @Test("9. Listing processes shows only the sandbox's own")
    func processList() async throws {
        let (name, _) = try await world.deploy(
            "ps",
            handler: """
                import os
                def main(event, context):
                    pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
                    commands = [open("/proc/%d/cmdline" % p, "rb").read().replace(b"\\0", b" ").decode() for p in pids]
                    return {"pids": pids, "commands": commands}
                """)
        let output = try await world.output(try await world.invoke(name, "go"))
        let pids = try #require(output["pids"] as? [Double])
        #expect(pids.count <= 2 && pids.allSatisfy { $0 <= 2 }, "\(pids)")
        let commands = try #require(output["commands"] as? [String])
        #expect(
            !commands.contains { $0.contains("sluice") && !$0.contains("bootstrap") && !$0.contains("sandbox") },
            "\(commands)")
    }

    @Test("10. Killing pid 1 or the worker's pid has no effect outside")
    func killOutside() async throws {
        let (name, _) = try await world.deploy(
            "killer",
            handler: """
                import os, signal
                def main(event, context):
                    out = {}
                    for pid in [1, int(event)]:
                        try:
                            os.kill(pid, signal.SIGKILL)
                            out[str(pid)] = 0
                        except OSError as error:
                            out[str(pid)] = error.errno
                    return out
                """)
        let me = getpid()
        let output = try await world.output(try await world.invoke(name, String(me)))
        #expect(output["1"] as? Double == 1, "kill 1: \(String(describing: output["1"]))")
        #expect(
            output[String(me)] as? Double == 3, "kill of the worker's pid: \(String(describing: output[String(me)]))")
        try await world.hostIsFine()
    }

    @Test("11. Connecting to the broker's loopback port fails without network: host, and works with it")
    func network() async throws {
        let handler = """
            import socket
            def main(event, context):
                host, port = event.split(":")
                try:
                    socket.create_connection((host, int(port)), timeout=3).close()
                    return {"errno": 0}
                except OSError as error:
                    return {"errno": error.errno}
            """
        let (isolated, _) = try await world.deploy("netless", handler: handler)
        let (connected, _) = try await world.deploy("nethost", manifest: "network: host\n", handler: handler)
        let broker = try await TestBroker.address()
        let blocked = try await world.output(try await world.invoke(isolated, broker))
        #expect(blocked["errno"] as? Double == 101, "\(blocked)")  // ENETUNREACH: only a down loopback
        let open = try await world.output(try await world.invoke(connected, broker))
        #expect(open["errno"] as? Double == 0, "\(open)")
    }

    @Test("12. Another tenant's environment, tmp files and code are not visible")
    func tenants() async throws {
        let (owner, ownerCode) = try await world.deploy(
            "owner", tenant: "alpha", manifest: "environment_vars: {ALPHA_SECRET: s3cr3t-alpha}\n",
            handler: """
                import os
                def main(event, context):
                    open("/tmp/alpha-secret", "w").write(os.environ["ALPHA_SECRET"])
                    return {"wrote": os.listdir("/tmp")}
                """)
        let (snoop, _) = try await world.deploy(
            "intruder", tenant: "beta",
            handler: """
                import os
                def main(event, context):
                    found = []
                    for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
                        try:
                            if b"s3cr3t-alpha" in open("/proc/%s/environ" % pid, "rb").read():
                                found.append(pid)
                        except OSError:
                            pass
                    return {
                        "environ": sorted(os.environ.keys()),
                        "tmp": os.listdir("/tmp"),
                        "environ_hits": found,
                        "code_visible": os.path.exists(event),
                    }
                """)
        let wrote = try await world.output(try await world.invoke(owner, "go"))
        #expect((wrote["wrote"] as? [String])?.contains("alpha-secret") == true)
        let seen = try await world.output(try await world.invoke(snoop, ownerCode))
        #expect(
            seen["environ"] as? [String] == ["LANG", "PATH"],
            "the platform's or another tenant's variables leak: \(String(describing: seen["environ"]))")
        #expect((seen["tmp"] as? [String])?.isEmpty == true)
        #expect((seen["environ_hits"] as? [String])?.isEmpty == true)
        #expect(seen["code_visible"] as? Bool == false)
    }

    @Test("13. Writing 2× tmp_mb to /tmp ends with ENOSPC")
    func tmpFull() async throws {
        let (name, _) = try await world.deploy(
            "filler", manifest: "tmp_mb: 8\n",
            handler: """
                def main(event, context):
                    written = 0
                    try:
                        with open("/tmp/fill", "wb") as f:
                            while written < 16 << 20:
                                f.write(b"x" * (1 << 20))
                                f.flush()
                                written += 1 << 20
                    except OSError as error:
                        return {"errno": error.errno, "written_mb": written >> 20}
                    return {"errno": 0, "written_mb": written >> 20}
                """)
        let output = try await world.output(try await world.invoke(name, "go"))
        #expect(output["errno"] as? Double == 28, "\(output)")
        #expect((output["written_mb"] as? Double ?? 99) <= 8)
    }

    @Test("14. memory_used_mb and cpu_ms_used of a function allocating 50 MB and spinning 200 ms are within 20%")
    func accounting() async throws {
        let (name, _) = try await world.deploy(
            "meter", manifest: "memory_mb: 256\n",
            handler: """
                import time
                def main(event, context):
                    start = time.process_time()
                    data = b"x" * (50 << 20)
                    while time.process_time() - start < 0.2:
                        pass
                    return len(data)
                """)
        // The second invocation runs on a warm process: figures are per invocation, not per process.
        for attempt in 1...2 {
            let result = try await world.invoke(name, "\(attempt)")
            #expect(result["status"] as? String == "success")
            let memory = try #require(result["memory_used_mb"] as? Double)
            let cpu = try #require(result["cpu_ms_used"] as? Double)
            #expect(abs(memory - 50) <= 10, "memory_used_mb \(memory) (invocation \(attempt))")
            #expect(abs(cpu - 200) <= 40, "cpu_ms_used \(cpu) (invocation \(attempt))")
        }
    }
}
