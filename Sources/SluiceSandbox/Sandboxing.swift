import Foundation
import SluiceSupport
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The policy of one sandbox (from the function's manifest and the platform configuration).
public struct SandboxPolicy: Sendable, Hashable {
    public var limits: ResourceLimits
    /// Share the host's network namespace (`network: host`); otherwise a namespace with only a down
    /// loopback interface.
    public var hostNetwork = false
    public var tmpMB = 64
    public var openFiles = 256
    /// Largest file the function may write (RLIMIT_FSIZE).
    public var fileSizeMB = 1024
    public var uid: UInt32 = 65534
    public var gid: UInt32 = 65534

    public init(limits: ResourceLimits) { self.limits = limits }
}

/// Starts function processes in sandboxes: the `sluice-sandbox` launcher (namespaces, a minimal
/// read-only root, seccomp, rlimits, no capabilities) inside a cgroup per sandbox (docs/sandbox.md).
public final class Sandboxing: Sendable {
    /// The launcher binary.
    public let launcher: String
    /// An empty directory each sandbox mounts its root on (in its own mount namespace).
    public let rootDirectory: String
    /// Where the launcher keeps its compiled seccomp program (the run folder, root's).
    var seccompCache: String { URL(fileURLWithPath: rootDirectory).deletingLastPathComponent().path }
    /// nil when the platform allows running without cgroups and the host has none usable.
    public let cgroups: CgroupHost?
    /// Numbers the cgroups of this process (shared by every instance: names must never repeat).
    private static let counter = Atomic<Int>(0)
    /// New cgroups made ahead, per set of limits, while earlier sandboxes ended: making one costs the
    /// kernel about 0.3 ms, which a sandbox start would otherwise wait for.
    private let spare = Mutex<[ResourceLimits: [Cgroup]]>([:])
    private let recycling = DispatchQueue(label: "sluice.cgroup-recycling")
    static let sparePerLimits = 4
    private let closed = Atomic<Bool>(false)

    init(launcher: String, rootDirectory: String, cgroups: CgroupHost?) {
        self.launcher = launcher
        self.rootDirectory = rootDirectory
        self.cgroups = cgroups
    }

    /// Checks the host and the launcher once: finds the cgroup hierarchy and runs `/bin/true` under the
    /// full policy. Call before taking work.
    /// - Parameter allowWithoutCgroups: run sandboxes without resource limits when the host has no usable
    ///   cgroups (`sandbox.allow_without_cgroups`); otherwise that is an error.
    /// - Throws: `SandboxUnavailable` naming each missing feature.
    public static func prepare(allowWithoutCgroups: Bool = false, runDirectory: URL = ProjectPaths.discover().run)
        async throws -> Sandboxing
    {
        let launcher = launcherPath()
        guard FileManager.default.isExecutableFile(atPath: launcher) else {
            throw SandboxUnavailable(missing: [
                "the sandbox launcher \(launcher) is missing; build it with `swift build`"
            ])
        }
        guard geteuid() == 0 else {
            throw SandboxUnavailable(missing: [
                "sandboxes need root (namespaces, mounts, cgroups); this process runs as uid \(geteuid())"
            ])
        }
        let root = runDirectory.appendingPathComponent("sandbox-root").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        var cgroups: CgroupHost?
        do {
            cgroups = try CgroupHost.detect()
            cgroups?.removeStale()
        } catch let error as SandboxUnavailable where allowWithoutCgroups {
            FileHandle.standardError.write(Data("warning: sandboxes run WITHOUT resource limits: \(error)\n".utf8))
        }
        let sandboxing = Sandboxing(launcher: launcher, rootDirectory: root, cgroups: cgroups)
        try await sandboxing.probe()
        return sandboxing
    }

    /// `sluice-sandbox` next to the running executable (the `sluice` binary or the test bundle), or
    /// `$SLUICE_SANDBOX_LAUNCHER`.
    static func launcherPath() -> String {
        if let path = ProcessInfo.processInfo.environment["SLUICE_SANDBOX_LAUNCHER"], !path.isEmpty { return path }
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("sluice-sandbox")
            .path
    }

    /// A sandboxed command: the launcher's arguments, and the cgroup it joins (to be given to the process).
    public struct Command: Sendable {
        public let executable: String
        public let arguments: [String]
        public let cgroup: Cgroup?
        /// Give the launcher this descriptor as descriptor 3 (`Lifeline.readEnd`).
        public let inherited: Int32
    }

    /// Prepares one sandbox: creates its cgroup with the limits and returns the launcher command that
    /// runs `program` (paths as seen inside: the code at `/code`, `runtime` at `/runtime`, `dependencies`
    /// at `/deps`).
    /// (`withCgroup: false` leaves out the cgroup: for measurements only.) `standby`: the sandbox is made
    /// but waits for one byte on its stdin before it execs `program` (docs/sandbox.md, "Fast starts").
    public func command(
        policy: SandboxPolicy, code: String, runtime: String?, dependencies: String? = nil, program: [String],
        withCgroup: Bool = true, standby: Bool = false
    ) throws -> Command {
        var arguments = ["--root", rootDirectory, "--code", code]
        if let runtime { arguments += ["--runtime", runtime] }
        if let dependencies { arguments += ["--deps", dependencies] }
        let cgroup = withCgroup ? try takeCgroup(policy.limits) : nil
        for file in cgroup?.procsFiles ?? [] { arguments += ["--cgroup-procs", file] }
        for file in Self.readOnlyFiles(hostNetwork: policy.hostNetwork) { arguments += ["--ro-file", file] }
        arguments += [
            "--tmp-mb", String(policy.tmpMB), "--net", policy.hostNetwork ? "host" : "none", "--nofile",
            String(policy.openFiles),
            "--fsize-mb", String(policy.fileSizeMB), "--uid", String(policy.uid), "--gid", String(policy.gid),
            "--lifeline", String(Lifeline.launcherDescriptor), "--seccomp-cache", seccompCache,
        ]
        if standby { arguments += ["--standby", "yes"] }
        arguments.append("--")
        return Command(
            executable: launcher, arguments: arguments + program, cgroup: cgroup, inherited: Lifeline.readEnd)
    }

    /// A new cgroup with these limits for a sandbox: one made ahead if there is one.
    private func takeCgroup(_ limits: ResourceLimits) throws -> Cgroup? {
        guard let cgroups else { return nil }
        if let ready = spare.withLock({ $0[limits]?.popLast() }) { return ready }
        return try makeCgroup(cgroups, limits)
    }

    private func makeCgroup(_ cgroups: CgroupHost, _ limits: ResourceLimits) throws -> Cgroup {
        let cgroup = try cgroups.create(
            name: "\(getpid())-\(Self.counter.add(1, ordering: .relaxed).newValue)", limits: limits)
        cgroup.recycler.withLock { $0 = { [weak self] ended in self?.replace(ended) ?? ended.destroy() } }
        return cgroup
    }

    /// Off the start path, once a sandbox ended: removes its cgroup and makes a spare with the same
    /// limits for the next one (up to `sparePerLimits` each). Spares are always new: their counters
    /// start at zero.
    private func replace(_ cgroup: Cgroup) {
        recycling.async { [self] in
            // Normally empty already; a sandbox killed a moment ago may take a few milliseconds.
            for _ in 0..<2000 where !cgroup.processes.isEmpty { usleep(1000) }
            cgroup.destroy()
            guard let cgroups, !closed.load(ordering: .relaxed),
                spare.withLock({ $0[cgroup.limits, default: []].count }) < Self.sparePerLimits,
                let made = try? makeCgroup(cgroups, cgroup.limits)
            else { return }
            spare.withLock { $0[cgroup.limits, default: []].append(made) }
        }
    }

    /// Removes the spare cgroups and makes no more (when the worker stops). Cgroups of sandboxes still
    /// ending are removed as they end; those a killed worker leaves are removed at the next start.
    public func removeSpares() {
        closed.store(true, ordering: .relaxed)
        recycling.sync {}
        let all = spare.withLock { spare in
            defer { spare = [:] }
            return spare.values.flatMap { $0 }
        }
        for cgroup in all { cgroup.destroy() }
    }

    /// Host files a sandbox sees (read-only): the loader cache and time zone; for `network: host` also
    /// what name resolution and TLS need.
    static func readOnlyFiles(hostNetwork: Bool) -> [String] {
        ["/etc/ld.so.cache", "/etc/localtime"]
            + (hostNetwork ? ["/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/ssl"] : [])
    }

    /// Runs `/bin/true` under the full policy and expects exit 0 within 10 s.
    /// Generous: on a machine busy with other sandboxes the probe only takes longer.
    static let probeTimeout = Duration.seconds(60)

    private func probe() async throws {
        var policy = SandboxPolicy(limits: ResourceLimits(memoryMB: 64, cpuMillicores: 1000, pidsMax: 16))
        policy.tmpMB = 1
        let command = try self.command(policy: policy, code: "/usr/bin", runtime: nil, program: ["/bin/true"])
        defer { command.cgroup?.release() }
        // Its standard error goes to a file read once it ended; launched with posix_spawn (Foundation's
        // Process.run is not safe while other threads open and close descriptors).
        let errorsFile = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sluice-probe-\(getpid())-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: errorsFile) }
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        let errors = open(errorsFile.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        defer {
            close(null)
            close(errors)
        }
        let pid = try ChildProcess.spawn(
            command.executable, command.arguments, environment: ["PATH": "/usr/bin:/bin"], directory: nil, stdin: null,
            stdout: null,
            stderr: errors, newSession: false, inherit: command.inherited)
        // A probe still running at the timeout is killed; the wait then reaps it.
        let status = await withTimeout(Self.probeTimeout, onTimeout: { kill(pid, SIGKILL) }) {
            await BlockingCalls.run { ChildProcess.waitForExit(pid) }
        }
        _ = await command.cgroup?.waitUntilEmpty(timeout: .seconds(2))
        let message = ((try? String(contentsOf: errorsFile, encoding: .utf8)) ?? "").trimmingCharacters(
            in: .whitespacesAndNewlines)
        guard let status else {
            throw SandboxUnavailable(missing: [
                "the sandbox launcher's probe (/bin/true in a sandbox) did not finish within \(Self.probeTimeout); is the machine overloaded?"
            ])
        }
        guard status == 0 else {
            throw SandboxUnavailable(missing: [
                "the sandbox launcher failed on this host: \(message.isEmpty ? "exit \(status)" : message)"
            ])
        }
    }
}
