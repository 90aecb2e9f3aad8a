import Foundation
import Logging
import SluiceFunctions
import SluiceRuntime
import SluiceSandbox
import SluiceSupport

/// `sluice bench sandbox`: spawn-to-exit of `/bin/true` (i) as a plain process, (ii) under bubblewrap
/// (`--ro-bind / / --unshare-all --die-with-parent`), (iii) under the Sluice sandbox with its full
/// policy (cgroup made and removed, namespaces, root, seccomp, rlimits); (iv) spawn-to-first-response
/// of a python3 no-op function under the sandbox (start, import, one invocation); and (v) warm python3
/// invocations through the runner, 64 at once on 2 processes, in batches against one per frame.
public struct SandboxBenchmark: Sendable {
    public struct Percentiles: Sendable {
        public var p50: Double
        public var p99: Double
        init(_ samples: [Double]) {
            let sorted = samples.sorted()
            func at(_ fraction: Double) -> Double {
                sorted.isEmpty
                    ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)]
            }
            p50 = at(0.5)
            p99 = at(0.99)
        }
    }

    public struct Report: Sendable {
        public var plain: Percentiles
        public var bwrap: Percentiles
        public var sluice: Percentiles
        /// (iii) without the cgroup: the launcher alone, like for like with bubblewrap (which has none).
        public var sluiceWithoutCgroup: Percentiles
        /// (iii-c) a sandbox made ahead: from the byte that starts it to the exit.
        public var standby: Percentiles
        /// (iv) python3 from the request to the first reply: a new process, and a standby's.
        public var pythonWarmStart: Percentiles
        public var pythonFastStart: Percentiles
        /// The same for a handler importing heavier standard-library modules.
        public var pythonHeavyStart: Percentiles
        public var pythonHeavyFastStart: Percentiles
        /// (v) warm invocations per second: batched, and one per frame (the baseline).
        public var warmBatchedPerSecond: Double
        public var warmSinglePerSecond: Double
        /// Sluice p50 / bubblewrap p50.
        public var ratio: Double { bwrap.p50 > 0 ? sluice.p50 / bwrap.p50 : 0 }
        /// Standby p50 / bubblewrap p50.
        public var standbyRatio: Double { bwrap.p50 > 0 ? standby.p50 / bwrap.p50 : 0 }
    }

    let runs: Int
    let pythonRuns: Int
    let bwrap = "/usr/bin/bwrap"

    public init(runs: Int, pythonRuns: Int) {
        self.runs = runs
        self.pythonRuns = pythonRuns
    }

    public func run(progress: @Sendable (String) -> Void) async throws -> Report {
        guard FileManager.default.isExecutableFile(atPath: bwrap) else {
            throw SandboxUnavailable(missing: [
                "bubblewrap (\(bwrap)) is the baseline of this benchmark: apt-get install bubblewrap (`make deps` does)"
            ])
        }
        let sandboxing = try await Sandboxing.prepare()
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-bench-code-\(getpid())")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        try "def main(event, context):\n    return None\n".write(
            to: empty.appendingPathComponent("noop.py"), atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: empty) }

        progress("(i) plain fork+exec of /bin/true, \(runs) runs…")
        let plain = try await Self.time(runs) { try Self.spawnAndWait("/bin/true", []) }
        progress("(ii) bwrap --ro-bind / / --unshare-all --die-with-parent /bin/true, \(runs) runs…")
        let wrapped = try await Self.time(runs) { [bwrap] in
            try Self.spawnAndWait(bwrap, ["--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "/bin/true"])
        }
        progress("(iii) the Sluice sandbox (full policy, cgroup included) around /bin/true, \(runs) runs…")
        let policy = SandboxPolicy(limits: ResourceLimits(memoryMB: 128, cpuMillicores: 1000, pidsMax: 64))
        // As in a worker: an ended sandbox's cgroup is recycled (in the background) for the next one.
        let sluice = try await Self.time(runs) {
            let command = try sandboxing.command(policy: policy, code: empty.path, runtime: nil, program: ["/bin/true"])
            try Self.spawnAndWait(command.executable, command.arguments, inherit: command.inherited)
            command.cgroup?.release()
        }
        progress("(iii-b) the same without the cgroup (bubblewrap has none), \(runs) runs…")
        let launcherOnly = try await Self.time(runs) {
            let command = try sandboxing.command(
                policy: policy, code: empty.path, runtime: nil, program: ["/bin/true"], withCgroup: false)
            try Self.spawnAndWait(command.executable, command.arguments, inherit: command.inherited)
        }

        progress("(iii-c) a standby sandbox (made ahead, untimed) around /bin/true: start byte to exit, \(runs) runs…")
        let standby = try await Self.standbyStarts(runs, sandboxing: sandboxing, policy: policy, code: empty.path)

        try Self.heavyHandler.write(to: empty.appendingPathComponent("heavy.py"), atomically: true, encoding: .utf8)
        var manifest = FunctionManifest(
            name: "bench-noop", tenant: "bench", runtime: .python3, handler: "noop.main", codePath: empty.path)
        manifest.memoryMB = 128
        var heavy = manifest
        heavy.handler = "heavy.main"
        var python: [Percentiles] = []
        for (label, handler, fast) in [
            ("no-op, new process", manifest, false), ("no-op, from a standby", manifest, true),
            ("heavier imports, new process", heavy, false), ("heavier imports, from a standby", heavy, true),
        ] {
            progress("(iv) python3 \(label) under the sandbox: request to first reply, \(pythonRuns) runs…")
            python.append(
                try await Self.pythonFirstReplies(handler, runs: pythonRuns, sandboxing: sandboxing, standby: fast))
        }

        progress("(v) warm python3 no-op, \(Self.warmInvocations) invocations 64 at once on 2 processes: batched…")
        let batched = try await Self.warmRate(
            manifest: manifest, sandboxing: sandboxing, batchLimit: FunctionRunner.maxBatch)
        progress("    …and one invocation per frame")
        let single = try await Self.warmRate(manifest: manifest, sandboxing: sandboxing, batchLimit: 1)
        sandboxing.removeSpares()
        return Report(
            plain: plain, bwrap: wrapped, sluice: sluice, sluiceWithoutCgroup: launcherOnly, standby: standby,
            pythonWarmStart: python[0], pythonFastStart: python[1], pythonHeavyStart: python[2],
            pythonHeavyFastStart: python[3], warmBatchedPerSecond: batched, warmSinglePerSecond: single)
    }

    static let warmInvocations = 5_000

    /// Invocations per second of a warm no-op on 2 processes, 64 in flight.
    static func warmRate(manifest: FunctionManifest, sandboxing: Sandboxing, batchLimit: Int) async throws -> Double {
        // No standby: its interpreter starting beside the ~0.15 s measured would be counted against warm
        // invocations (a start costs one core about 25 ms more, made ahead).
        let runner = FunctionRunner(
            launcher: ProcessLauncher(sandboxing: sandboxing), batchLimit: batchLimit, standbyProcesses: 0,
            logger: Logger(label: "sluice.bench"))
        let spec = FunctionSpec(manifest: manifest, version: 1, codeHash: "bench-warm")
        @Sendable func input(_ index: Int) -> InvocationInput {
            InvocationInput(invocationID: "inv_warm_\(index)", event: Array("{}".utf8), contextJSON: Array("{}".utf8))
        }
        // Warm-up: both processes started.
        _ = await [runner.invoke(spec, input(-1), maxProcesses: 2), runner.invoke(spec, input(-2), maxProcesses: 2)]
        let start = ContinuousClock.now
        let failures = await withTaskGroup(of: Int.self) { group in
            for lane in 0..<64 {
                group.addTask {
                    var failures = 0
                    for index in stride(from: lane, to: warmInvocations, by: 64) {
                        if await runner.invoke(spec, input(index), maxProcesses: 2).status != .success { failures += 1 }
                    }
                    return failures
                }
            }
            return await group.reduce(0, +)
        }
        let seconds = (ContinuousClock.now - start).inSeconds
        await runner.shutdown()
        guard failures == 0 else {
            throw SandboxUnavailable(missing: ["\(failures) warm python3 no-op invocations failed"])
        }
        return Double(warmInvocations) / seconds
    }

    /// Runs `body` `count` times on a thread of its own (it blocks in waitpid) and times each, in ms.
    static func time(_ count: Int, _ body: @escaping @Sendable () throws -> Void) async throws -> Percentiles {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do {
                    var samples: [Double] = []
                    try body()  // warm-up: page cache, first cgroup
                    for _ in 0..<count {
                        let start = ContinuousClock.now
                        try body()
                        samples.append((ContinuousClock.now - start).inSeconds * 1000)
                    }
                    continuation.resume(returning: Percentiles(samples))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.start()
        }
    }

    /// posix_spawn with /dev/null as stdio and a clean environment, then waitpid; throws unless exit 0.
    static func spawnAndWait(_ executable: String, _ arguments: [String], inherit: Int32? = nil) throws {
        let null = open("/dev/null", O_RDWR)
        defer { close(null) }
        let pid = try ChildProcess.spawn(
            executable, arguments, environment: ["PATH": "/usr/bin:/bin"], directory: "/", stdin: null, stdout: null,
            stderr: null, newSession: false, inherit: inherit)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else {
            throw SandboxUnavailable(missing: ["\(executable) exited with wait status \(status)"])
        }
    }
}
