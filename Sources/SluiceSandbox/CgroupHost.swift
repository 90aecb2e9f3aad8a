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
    /// cpuacct and pids mounted and writable. Sluice's cgroups go under `name` (tests use their own).
    /// - Throws: `SandboxUnavailable` naming what is missing.
    public static func detect(root: String = "/sys/fs/cgroup", name: String = "sluice") throws -> CgroupHost {
        var problems: [String] = []
        for unified in [root, root + "/unified"] {
            guard let controllers = SmallFile.read(unified + "/cgroup.controllers") else { continue }
            let available = Set(controllers.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
            let missing = v2Controllers.filter { !available.contains($0) }
            if missing.isEmpty {
                let base = unified + "/" + name
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
                try makeDirectory(mount + "/" + name)
                bases[controller] = mount + "/" + name
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

    /// Removes the cgroups that workers no longer running left behind (named `<pid>-…`), killing what
    /// still runs in them first: a worker's sandboxes never outlive it by more than its next start (its
    /// lifeline ends them at once; this is for what a launcher could not end).
    public func removeStale() {
        let bases: [String]
        switch layout {
        case .v1(let map): bases = Array(map.values)
        case .v2(let base): bases = [base]
        }
        for base in bases {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] {
                guard let pid = name.split(separator: "-").first.flatMap({ Int32($0) }), kill(pid, 0) != 0,
                    errno == ESRCH
                else { continue }
                let path = base + "/" + name
                // Killed processes leave the cgroup within milliseconds; give them up to a second.
                for _ in 0..<100 {
                    let left = Self.processes(in: path)
                    if left.isEmpty { break }
                    for process in left { kill(process, SIGKILL) }
                    usleep(10_000)
                }
                rmdir(path)
            }
        }
    }

    /// The pids in a cgroup directory.
    static func processes(in path: String) -> [pid_t] {
        (SmallFile.read(path + "/cgroup.procs") ?? "").split(separator: "\n").compactMap { pid_t($0) }
    }

    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o755) != 0, errno != EEXIST {
            throw SandboxUnavailable(missing: ["cannot create \(path): \(String(cString: strerror(errno)))"])
        }
    }

    static func write(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SandboxUnavailable(missing: ["cannot open \(path): \(String(cString: strerror(errno)))"])
        }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard Glibc.write(fd, bytes, bytes.count) == bytes.count else {
            throw SandboxUnavailable(missing: ["cannot write '\(text)' to \(path): \(String(cString: strerror(errno)))"]
            )
        }
    }
}
