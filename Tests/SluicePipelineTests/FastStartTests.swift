import Foundation
import SluiceFunctions
import SluiceRuntime
import SluiceTesting
import Testing

/// What a function sees of its process: identity, privileges, filter, limits, mounts, environment,
/// interpreter state. Equal for an instance started from a standby and one started on demand.
private let probe = """
    import json, os, sys


    def field(text, name):
        return [line for line in text.splitlines() if line.startswith(name + ":")]


    def main(event, context):
        status = open("/proc/self/status").read()
        names = ["Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs",
                 "Seccomp", "Seccomp_filters"]
        mounts = []
        for line in open("/proc/self/mountinfo"):
            before, after = line.split(" - ")
            fields = before.split()
            mounts.append([fields[3], fields[4], fields[5], after.split()[0], after.split()[2]])
        return {
            "status": [line for name in names for line in field(status, name)],
            "limits": open("/proc/self/limits").read(),
            "mounts": mounts,
            "cgroup": open("/proc/self/cgroup").read(),
            "environ": sorted(open("/proc/self/environ").read().split("\\0")),
            "os_environ": dict(os.environ),
            "argv": sys.argv, "path": sys.path, "flags": str(sys.flags),
            "modules": sorted(sys.modules),
            "pid": os.getpid(), "ppid": os.getppid(), "cwd": os.getcwd(),
            "root": sorted(os.listdir("/")), "tmp": sorted(os.listdir("/tmp")),
            "umask": os.umask(0o22),
            "hostname": os.uname().nodename,
        }

    """

/// A handler that leaves traces of itself: in an imported module, the environment, `/tmp` and a module
/// attribute set at import. `event` "look" reports which traces it finds.
private let marker = """
    import json, os

    FOUND_AT_IMPORT = {"json": getattr(json, "sluice_marker", None), "env": os.environ.get("SLUICE_MARK")}
    json.sluice_marker = __name__ + "@" + os.environ.get("VERSION", "?")
    os.environ["SLUICE_MARK"] = "set"


    def main(event, context):
        if event == "exit":
            os._exit(3)
        found = dict(FOUND_AT_IMPORT, tmp=sorted(os.listdir("/tmp")))
        open("/tmp/marker", "w").write("left by an earlier instance")
        return found

    """

@Suite("Fast starts: standby instances are the same sandbox as new ones", .timeLimit(.minutes(3)))
struct FastStartTests {
    func spec(_ name: String, tenant: String = "acme", version: Int = 1, code: String) throws -> FunctionSpec {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName(name))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try code.write(to: folder.appendingPathComponent("handler.py"), atomically: true, encoding: .utf8)
        var manifest = FunctionManifest(
            name: name, tenant: tenant, runtime: .python3, handler: "handler.main", codePath: folder.path)
        manifest.environmentVars = ["VERSION": "\(version)", "TENANT": tenant]
        return FunctionSpec(manifest: manifest, version: version, codeHash: uniqueName("hash"))
    }

    func view(_ outcome: InvocationOutcome) throws -> [String: Any] {
        #expect(outcome.status == .success, "\(outcome.error ?? "") \(outcome.stderrTail)")
        #expect(outcome.coldStart)
        let output = try #require(outcome.output)
        return try #require(try JSONSerialization.jsonObject(with: Data(output)) as? [String: Any])
    }

    func invoke(_ runner: FunctionRunner, _ spec: FunctionSpec, _ event: String = "look") async -> InvocationOutcome {
        await runner.invoke(
            spec,
            InvocationInput(
                invocationID: uniqueName("inv"), event: Array("\"\(event)\"".utf8), contextJSON: Array("{}".utf8)))
    }

    @Test("An instance from a standby sees exactly what one started on demand sees")
    func indistinguishable() async throws {
        let function = try spec(uniqueName("probe"), code: probe)
        let slow = FunctionRunner(launcher: try await TestSandbox.launcher(), standbyProcesses: 0)
        let first = await invoke(slow, function)
        #expect(!first.standbyStart)
        let onDemand = try view(first)
        await slow.shutdown()
        #expect(slow.standbyStarts == 0)

        let fast = FunctionRunner(launcher: try await TestSandbox.launcher(), standbyProcesses: 1)
        #expect(await fast.makeStandby(function, timeout: .seconds(60)))
        let taken = await invoke(fast, function)
        #expect(taken.standbyStart, "the outcome does not say it came from a standby")
        let fromStandby = try view(taken)
        await fast.shutdown()
        #expect(fast.standbyStarts == 1, "the second instance did not come from the standby")

        #expect(Set(onDemand.keys) == Set(fromStandby.keys))
        for key in onDemand.keys.sorted() {
            let left = try JSONSerialization.data(
                withJSONObject: onDemand[key]!, options: [.sortedKeys, .fragmentsAllowed])
            let right = try JSONSerialization.data(
                withJSONObject: fromStandby[key]!, options: [.sortedKeys, .fragmentsAllowed])
            #expect(
                left == right,
                "\(key) differs: \(String(decoding: left, as: UTF8.self)) vs \(String(decoding: right, as: UTF8.self))")
        }
        // The view is what the sandbox promises (docs/sandbox.md), so an equal view is a sandboxed one.
        let status = try #require(fromStandby["status"] as? [String])
        #expect(status.contains("Seccomp:\t2"))
        #expect(status.contains("NoNewPrivs:\t1"))
        #expect(status.contains("CapEff:\t0000000000000000"))
        #expect(status.contains { $0.hasPrefix("Uid:\t65534") })
        #expect((fromStandby["os_environ"] as? [String: String])?["VERSION"] == "1")
    }

    @Test("Nothing of one version's or tenant's instance reaches another's, from a standby or not")
    func noStateCrosses() async throws {
        let runner = FunctionRunner(launcher: try await TestSandbox.launcher(), standbyProcesses: 4)
        let name = uniqueName("marker")
        let first = try spec(name, version: 1, code: marker)
        let second = try spec(name, version: 2, code: marker)
        let other = try spec(uniqueName("marker"), tenant: "globex", code: marker)
        let clean: [String: Any] = ["json": NSNull(), "env": NSNull(), "tmp": [String]()]

        // v2 and the other tenant's function get standbys ahead; v1 starts on demand, and its second
        // instance (after the first exits) comes from the standby its first start left behind.
        #expect(await runner.makeStandby(second, timeout: .seconds(60)))
        #expect(await runner.makeStandby(other, timeout: .seconds(60)))
        let firstV1 = try view(await invoke(runner, first))
        #expect(runner.standbyStarts == 0)
        #expect(await runner.makeStandby(first, timeout: .seconds(60)))
        #expect(await invoke(runner, first, "exit").status == .crash)
        let secondV1 = try view(await invoke(runner, first))
        let v2 = try view(await invoke(runner, second))
        let globex = try view(await invoke(runner, other))
        await runner.shutdown()
        #expect(runner.standbyStarts == 3, "\(runner.standbyStarts) starts from standbys")
        for (label, found) in [("v1", firstV1), ("v1 again", secondV1), ("v2", v2), ("another tenant", globex)] {
            for (key, expected) in clean {
                let left = try JSONSerialization.data(
                    withJSONObject: found[key] ?? "missing", options: .fragmentsAllowed)
                let right = try JSONSerialization.data(withJSONObject: expected, options: .fragmentsAllowed)
                #expect(left == right, "\(label) found \(key): \(String(decoding: left, as: UTF8.self))")
            }
        }
    }

    @Test("An exec function started from a standby sandbox sees exactly what one started on demand sees")
    func execIndistinguishable() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("exec-probe"))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let script = folder.appendingPathComponent("probe.sh")
        try """
        #!/bin/sh
        grep -E '^(Uid|Gid|Groups|Cap|NoNewPrivs|Seccomp)' /proc/self/status
        cat /proc/self/limits /proc/self/cgroup
        cut -d' ' -f4-6 /proc/self/mountinfo
        tr '\\0' '\\n' < /proc/self/environ | sort
        id; pwd; ls / /tmp; umask; hostname; echo "ppid $PPID"; cat
        """.write(to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        var manifest = FunctionManifest(
            name: uniqueName("exec-probe"), tenant: "acme", runtime: .exec, handler: "probe.sh", codePath: folder.path)
        manifest.environmentVars = ["VERSION": "1"]
        let function = FunctionSpec(manifest: manifest, version: 1, codeHash: uniqueName("hash"))
        let input = InvocationInput(
            invocationID: uniqueName("inv"), event: Array("{\"a\":1}".utf8), contextJSON: Array("{}".utf8))

        let slow = FunctionRunner(launcher: try await TestSandbox.launcher(), standbyProcesses: 0)
        let onDemand = await slow.invoke(function, input)
        await slow.shutdown()
        let fast = FunctionRunner(launcher: try await TestSandbox.launcher(), standbyProcesses: 1)
        #expect(await fast.makeStandby(function, timeout: .seconds(60)))
        let fromStandby = await fast.invoke(function, input)
        await fast.shutdown()
        #expect(fast.standbyStarts == 1, "the invocation did not take the standby")
        #expect(!onDemand.standbyStart)
        #expect(fromStandby.standbyStart)
        #expect(onDemand.status == .success, "\(onDemand.error ?? "")")
        #expect(fromStandby.status == .success, "\(fromStandby.error ?? "")")
        let view = String(decoding: fromStandby.output ?? [], as: UTF8.self)
        #expect(String(decoding: onDemand.output ?? [], as: UTF8.self) == view)
        // The event reached the program whole, after the byte that started it.
        #expect(view.hasSuffix(#"{\"a\":1}""#), "\(view.suffix(40))")
        #expect(view.contains(#"Seccomp:\t2"#))
        #expect(view.contains("uid=65534"))
    }

    @Test("Through a worker: after the first invocation of an exec function, the next ones start from standbys")
    func throughWorker() async throws {
        let harness = try await PipelineHarness.make()
        let name = uniqueName("standby")
        try await harness.deploy(
            try harness.writeFunction(
                """
                name: \(name)
                tenant: acme
                runtime: exec
                handler: echo.sh
                max_concurrency: 1
                ordering: partition
                """,
                files: ["echo.sh": "#!/bin/sh\ncat\n"]))
        let (registry, follow) = try await harness.liveRegistry()
        let worker = try await harness.startWorker(registry: registry)
        // One at a time: each invocation makes the standby the next one takes.
        for count in 1...3 {
            _ = try await harness.publishRequests(
                function: name, count: 1, key: { _ in "k" }, value: { _ in "\(count)" })
            _ = try await harness.readJSON("sluice.results", function: name) { $0.count >= count }
        }
        let results = try await harness.readJSON("sluice.results", function: name) { $0.count >= 3 }
        let logs = try await harness.readJSON("sluice.invocation-log", function: name) { $0.count >= 3 }
        await worker.stop()
        follow.cancel()
        #expect(results.allSatisfy { $0["status"] as? String == "success" && $0["cold_start"] as? Bool == true })
        let fromStandby = results.filter { $0["standby_start"] as? Bool == true }
        #expect(fromStandby.count >= 1, "no invocation took a standby: \(results.map { $0["standby_start"] ?? "-" })")
        #expect(results.contains { $0["standby_start"] == nil }, "the first invocation had no standby to take")
        #expect(logs.filter { $0["standby_start"] as? Bool == true }.count == fromStandby.count)
    }

    @Test("A redeploy: the new version's first start takes a standby made when the old version retired")
    func redeploy() async throws {
        let name = uniqueName("redeploy")
        let old = try spec(name, version: 1, code: "def main(event, context):\n    return 1\n")
        let new = try spec(name, version: 2, code: "def main(event, context):\n    return 2\n")
        let runner = FunctionRunner(launcher: try await TestSandbox.launcher(), standbyProcesses: 1)
        #expect(await invoke(runner, old).output == Array("1".utf8))
        // Version 1's start left a standby (spawned in the background): it holds the budget's one place.
        #expect(await runner.hasStandby(old, timeout: .seconds(60)))
        #expect(await !runner.hasStandby(new, timeout: .seconds(60)), "a standby of version 2 before its deploy")
        // The worker's maintenance after the deploy: version 1 retires, version 2 gets its place.
        await runner.maintain(ttl: .seconds(3600)) { $0 == name ? new : nil }
        #expect(await runner.hasStandby(new, timeout: .seconds(60)))
        let first = await invoke(runner, new)
        await runner.shutdown()
        #expect(first.output == Array("2".utf8))
        #expect(first.standbyStart, "version 2's first start did not take the standby")
    }

    @Test("A standby whose handler fails to import: the start reports the import error, as without a standby")
    func failingImport() async throws {
        let broken = try spec(uniqueName("broken"), code: "raise RuntimeError('no config')\n")
        let runner = FunctionRunner(launcher: try await TestSandbox.launcher(), standbyProcesses: 1)
        #expect(await runner.makeStandby(broken, timeout: .seconds(60)), "the runtime initialises before the import")
        let outcome = await invoke(runner, broken)
        await runner.shutdown()
        #expect(outcome.status == .crash)
        #expect(
            outcome.error?.contains("importing handler.main failed: RuntimeError: no config") == true,
            "\(outcome.error ?? "")")
        #expect(runner.standbyStarts == 0)
    }

    @Test("A standby with no process of its version running goes once unused for the idle TTL, not before")
    func standbyRetires() async throws {
        let function = try spec(uniqueName("idle"), code: "def main(event, context):\n    return 1\n")
        let runner = FunctionRunner(launcher: try await TestSandbox.launcher(), standbyProcesses: 1)
        #expect(await runner.makeStandby(function, timeout: .seconds(60)))
        await runner.maintain(ttl: .seconds(3600)) { _ in function }
        #expect(await runner.hasStandby(function, timeout: .seconds(60)), "retired before the TTL")
        await runner.maintain(ttl: .zero) { _ in function }
        #expect(await !runner.hasStandby(function, timeout: .seconds(60)), "kept past the TTL")
        // Its place in the budget is free again.
        let other = try spec(uniqueName("next"), code: "def main(event, context):\n    return 2\n")
        #expect(await runner.makeStandby(other, timeout: .seconds(60)))
        await runner.shutdown()
    }
}
