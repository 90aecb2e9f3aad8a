import Foundation
import SluiceSupport
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

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
