import Foundation
import SluiceSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Resource limits of one sandbox, enforced by its cgroup.
public struct ResourceLimits: Sendable, Hashable {
    public var memoryMB: Int
    public var cpuMillicores: Int
    public var pidsMax: Int

    public init(memoryMB: Int, cpuMillicores: Int, pidsMax: Int) {
        self.memoryMB = memoryMB
        self.cpuMillicores = cpuMillicores
        self.pidsMax = pidsMax
    }
}

/// The cgroup hierarchy of this host, detected at start: v1 (a hierarchy per controller, as on this
/// machine) or v2 (one unified tree with the controllers enabled). Sandboxes get cgroups under `sluice/`.
public struct CgroupHost: Sendable, Hashable {
    public enum Layout: Sendable, Hashable {
        /// Controller → the directory Sluice's cgroups go under (`/sys/fs/cgroup/<controller>/sluice`).
        case v1([String: String])
        /// The directory Sluice's cgroups go under (`<unified root>/sluice`).
        case v2(String)
    }

    public let layout: Layout

    public var version: String {
        if case .v1 = layout { return "v1" }
        return "v2"
    }

    static let v1Controllers = ["memory", "cpu", "cpuacct", "pids"]
    static let v2Controllers = ["memory", "cpu", "pids"]

    /// Finds a usable hierarchy: cgroup v2 with memory, cpu and pids available, else v1 with memory, cpu,
    /// cpuacct and pids mounted and writable.
    /// - Throws: `SandboxUnavailable` naming what is missing.
    public static func detect(root: String = "/sys/fs/cgroup") throws -> CgroupHost {
        var problems: [String] = []
        for unified in [root, root + "/unified"] {
            guard let controllers = SmallFile.read(unified + "/cgroup.controllers") else { continue }
            let available = Set(controllers.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
            let missing = v2Controllers.filter { !available.contains($0) }
            if missing.isEmpty {
                let base = unified + "/sluice"
                do {
                    try makeDirectory(base)
                    // Controllers reach a cgroup only when every ancestor delegates them.
                    try write("+memory +cpu +pids", to: unified + "/cgroup.subtree_control")
                    try write("+memory +cpu +pids", to: base + "/cgroup.subtree_control")
                    return CgroupHost(layout: .v2(base))
                } catch {
                    problems.append("cgroup v2 at \(unified): \(error)")
                }
            } else {
                problems.append("cgroup v2 at \(unified) lacks the \(missing.joined(separator: ", ")) controller(s)")
            }
        }
        var bases: [String: String] = [:]
        for controller in v1Controllers {
            let mount = "\(root)/\(controller)"
            guard FileManager.default.fileExists(atPath: mount + "/cgroup.procs") else {
                problems.append("cgroup v1 controller \(controller) is not mounted at \(mount)")
                continue
            }
            do {
                try makeDirectory(mount + "/sluice")
                bases[controller] = mount + "/sluice"
            } catch {
                problems.append("cgroup v1 controller \(controller): \(error)")
            }
        }
        if bases.count == v1Controllers.count { return CgroupHost(layout: .v1(bases)) }
        throw SandboxUnavailable(missing: problems)
    }

    /// Creates the cgroup of one sandbox with its limits.
    public func create(name: String, limits: ResourceLimits) throws -> Cgroup {
        let memory = String(limits.memoryMB << 20)
        switch layout {
        case .v1(let bases):
            let paths = bases.mapValues { $0 + "/" + name }
            for path in paths.values { try Self.makeDirectory(path) }
            let cgroup = Cgroup(layout: .v1(paths), limits: limits)
            do {
                try Self.write(memory, to: paths["memory"]! + "/memory.limit_in_bytes")
                // No swap: memory+swap capped at the same figure (absent when swap accounting is off).
                try? Self.write(memory, to: paths["memory"]! + "/memory.memsw.limit_in_bytes")
                try? Self.write("0", to: paths["memory"]! + "/memory.swappiness")
                try Self.write("100000", to: paths["cpu"]! + "/cpu.cfs_period_us")
                try Self.write(String(limits.cpuMillicores * 100), to: paths["cpu"]! + "/cpu.cfs_quota_us")
                try Self.write(String(limits.pidsMax), to: paths["pids"]! + "/pids.max")
            } catch {
                cgroup.destroy()
                throw error
            }
            return cgroup
        case .v2(let base):
            let path = base + "/" + name
            try Self.makeDirectory(path)
            let cgroup = Cgroup(layout: .v2(path), limits: limits)
            do {
                try Self.write(memory, to: path + "/memory.max")
                try? Self.write("0", to: path + "/memory.swap.max")
                try Self.write("\(limits.cpuMillicores * 100) 100000", to: path + "/cpu.max")
                try Self.write(String(limits.pidsMax), to: path + "/pids.max")
            } catch {
                cgroup.destroy()
                throw error
            }
            return cgroup
        }
    }

    /// Removes the empty cgroups that workers no longer running left behind (named `<pid>-…`).
    public func removeStale() {
        let bases: [String]
        switch layout {
        case .v1(let map): bases = Array(map.values)
        case .v2(let base): bases = [base]
        }
        for base in bases {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] {
                guard let pid = name.split(separator: "-").first.flatMap({ Int32($0) }), kill(pid, 0) != 0, errno == ESRCH else { continue }
                rmdir(base + "/" + name)
            }
        }
    }

    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o755) != 0, errno != EEXIST {
            throw SandboxUnavailable(missing: ["cannot create \(path): \(String(cString: strerror(errno)))"])
        }
    }

    static func write(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SandboxUnavailable(missing: ["cannot open \(path): \(String(cString: strerror(errno)))"]) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard Glibc.write(fd, bytes, bytes.count) == bytes.count else {
            throw SandboxUnavailable(missing: ["cannot write '\(text)' to \(path): \(String(cString: strerror(errno)))"])
        }
    }
}

/// The cgroup of one sandbox: where its launcher enrolls, what it used, and how to end it. Each sandbox
/// gets a new one (its counters start at zero); `release` hands it back once the sandbox ended.
public final class Cgroup: Sendable {
    public enum Layout: Sendable {
        case v1([String: String])
        case v2(String)
    }
    let layout: Layout
    public let limits: ResourceLimits

    /// Takes the cgroup back once its sandbox ended (set by `Sandboxing`; nil: removed).
    let recycler = Mutex<(@Sendable (Cgroup) -> Void)?>(nil)

    init(layout: Layout, limits: ResourceLimits) {
        self.layout = layout
        self.limits = limits
    }

    /// The sandbox ended: removed (and a spare made for the next one), off the caller's path.
    public func release() {
        if let recycler = recycler.withLock({ $0 }) { recycler(self) } else { destroy() }
    }

    /// The files the launcher writes its pid to (`--cgroup-procs`).
    public var procsFiles: [String] {
        switch layout {
        case .v1(let paths): return paths.values.sorted().map { $0 + "/cgroup.procs" }
        case .v2(let path): return [path + "/cgroup.procs"]
        }
    }

    private var memoryDirectory: String {
        switch layout {
        case .v1(let paths): return paths["memory"]!
        case .v2(let path): return path
        }
    }

    /// Current memory use in bytes.
    public var memoryBytes: Int64 {
        switch layout {
        case .v1: return Self.number(memoryDirectory + "/memory.usage_in_bytes")
        case .v2: return Self.number(memoryDirectory + "/memory.current")
        }
    }

    /// The peak memory use in bytes since the last `resetPeak` (v2 kernels without a resettable peak:
    /// since the cgroup was made).
    public var peakMemoryBytes: Int64 {
        switch layout {
        case .v1: return Self.number(memoryDirectory + "/memory.max_usage_in_bytes")
        case .v2: return max(Self.number(memoryDirectory + "/memory.peak"), memoryBytes)
        }
    }

    /// Starts a new peak measurement from the current use.
    public func resetPeak() {
        switch layout {
        case .v1: try? CgroupHost.write("0", to: memoryDirectory + "/memory.max_usage_in_bytes")
        case .v2: try? CgroupHost.write("0", to: memoryDirectory + "/memory.peak")
        }
    }

    /// CPU time used by every process of the cgroup so far, in nanoseconds.
    public var cpuNanoseconds: Int64 {
        switch layout {
        case .v1(let paths): return Self.number(paths["cpuacct"]! + "/cpuacct.usage")
        case .v2(let path): return Self.field("usage_usec", in: path + "/cpu.stat") * 1000
        }
    }

    /// Processes the kernel's OOM killer ended in this cgroup so far.
    public var oomKills: Int64 {
        switch layout {
        case .v1: return Self.field("oom_kill", in: memoryDirectory + "/memory.oom_control")
        case .v2: return Self.field("oom_kill", in: memoryDirectory + "/memory.events")
        }
    }

    /// Times a fork failed on `pids.max`.
    public var pidsLimitHits: Int64 {
        switch layout {
        case .v1(let paths): return Self.field("max", in: paths["pids"]! + "/pids.events")
        case .v2(let path): return Self.field("max", in: path + "/pids.events")
        }
    }

    /// The processes in the cgroup now (host pids).
    public var processes: [Int32] {
        let file: String
        switch layout {
        case .v1(let paths): file = paths["pids"]! + "/cgroup.procs"
        case .v2(let path): file = path + "/cgroup.procs"
        }
        return (SmallFile.read(file) ?? "").split(separator: "\n").compactMap { Int32($0) }
    }

    /// SIGKILL to every process until none is left (killing the namespace's init ends the rest).
    public func killAll(timeout: Duration = .seconds(5)) async {
        if case .v2(let path) = layout, (try? CgroupHost.write("1", to: path + "/cgroup.kill")) != nil {
            _ = await waitUntilEmpty(timeout: timeout)
            return
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let pids = processes
            if pids.isEmpty { return }
            for pid in pids { kill(pid, SIGKILL) }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Waits (polling every 5 ms) until the cgroup has no process; false at the timeout.
    public func waitUntilEmpty(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !processes.isEmpty {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    /// Removes the (empty) cgroup.
    public func destroy() {
        switch layout {
        case .v1(let paths): for path in paths.values { rmdir(path) }
        case .v2(let path): rmdir(path)
        }
    }

    static func number(_ path: String) -> Int64 {
        Int64((SmallFile.read(path) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    /// The number after `name` on its line of a `key value` file.
    static func field(_ name: String, in path: String) -> Int64 {
        for line in (SmallFile.read(path) ?? "").split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == name { return Int64(parts[1]) ?? 0 }
        }
        return 0
    }
}

/// What the host cannot provide for sandboxes.
public struct SandboxUnavailable: Error, CustomStringConvertible, Sendable {
    public let missing: [String]
    public init(missing: [String]) { self.missing = missing }
    public var description: String { missing.joined(separator: "; ") }
}
