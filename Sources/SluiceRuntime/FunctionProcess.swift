import CSluiceSys
import Foundation
import SluiceSandbox
import SluiceSupport
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// How a function process ended.
public enum ProcessExit: Sendable, Equatable {
    case exited(Int32)
    case signaled(Int32)

    public var description: String {
        switch self {
        case .exited(let code): return "exited with status \(code)"
        case .signaled(let signal): return "killed by signal \(signal)"
        }
    }
}

/// One running function process: its own session and process group (so a timeout kills the whole tree),
/// pipes for stdin/stdout/stderr read by dedicated threads, and a thread that reaps it. A sandboxed one
/// is the `sluice-sandbox` launcher with its cgroup: killed, measured and removed through the cgroup.
final class FunctionProcess: Sendable {
    let pid: pid_t
    let cgroup: Cgroup?
    private let stdinFD: Int32
    let stdout: StreamBuffer
    /// The last 8 KB of standard error.
    let stderr = StreamBuffer(keepLast: 8192)
    private let exitState = Mutex<(status: ProcessExit?, waiters: [CheckedContinuation<ProcessExit, Never>])>((nil, []))
    /// CPU milliseconds and peak memory (MB) — from the cgroup, else wait4 — once the process ended.
    private let finalUsage = Mutex<(cpuMs: Double, peakMB: Double)?>(nil)
    private let finalOOMKills = Atomic<Int64>(0)
    /// This process's writer: a serial queue (an overcommit thread in libdispatch), so a write blocked on
    /// a full pipe never holds up anything else.
    private let writer: DispatchQueue

    private init(pid: pid_t, stdinFD: Int32, stdout: StreamBuffer, cgroup: Cgroup?) {
        self.pid = pid
        self.cgroup = cgroup
        self.stdinFD = stdinFD
        self.stdout = stdout
        self.writer = DispatchQueue(label: "sluice.function-stdin-\(pid)")
    }

    /// Starts `executable` in `directory` with exactly `environment`.
    static func start(
        _ executable: String, _ arguments: [String], environment: [String: String], directory: String,
        cgroup: Cgroup? = nil, inherit: Int32? = nil, stdoutLimit: Int
    ) throws -> FunctionProcess {
        var input: [Int32] = [0, 0]
        var output: [Int32] = [0, 0]
        var errors: [Int32] = [0, 0]
        guard sluice_pipe_cloexec(&input) == 0, sluice_pipe_cloexec(&output) == 0, sluice_pipe_cloexec(&errors) == 0
        else {
            throw ChildProcess.SpawnError(description: "cannot create pipes: \(String(cString: strerror(errno)))")
        }
        let pid: pid_t
        do {
            pid = try ChildProcess.spawn(
                executable, arguments, environment: environment, directory: directory,
                stdin: input[0], stdout: output[1], stderr: errors[1], newSession: true, inherit: inherit)
        } catch {
            for fd in input + output + errors { close(fd) }
            cgroup?.release()
            throw error
        }
        close(input[0])
        close(output[1])
        close(errors[1])
        _ = fcntl(input[1], F_SETFL, fcntl(input[1], F_GETFL) | O_NONBLOCK)
        signal(SIGPIPE, SIG_IGN)
        // A flood of output kills the process's group (its own session; a launcher's SIGKILL ends its sandbox).
        let stdout = StreamBuffer(limit: stdoutLimit) { kill(-pid, SIGKILL) }
        let process = FunctionProcess(pid: pid, stdinFD: input[1], stdout: stdout, cgroup: cgroup)
        process.stdout.startReading(output[0], name: "sluice-fn-\(pid)-out")
        process.stderr.startReading(errors[0], name: "sluice-fn-\(pid)-err")
        let reaper = Thread { [process] in
            var status: Int32 = 0
            var usage = rusage()
            while wait4(pid, &status, 0, &usage) == -1 && errno == EINTR {}
            var cpu =
                Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000 + Double(
                    usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1000
            var peak = Double(usage.ru_maxrss) / 1024
            if let cgroup {
                // The launcher ends after its namespace's init, whose end kills the rest: the cgroup
                // empties at once. Take the final figures; it is removed once the waiters are told.
                for _ in 0..<2000 where !cgroup.processes.isEmpty { usleep(1000) }
                cpu = Double(cgroup.cpuNanoseconds) / 1_000_000
                peak = Double(cgroup.peakMemoryBytes) / 1_048_576
                process.finalOOMKills.store(cgroup.oomKills, ordering: .relaxed)
            }
            process.finalUsage.withLock { $0 = (cpu, peak) }
            let exit: ProcessExit = (status & 0x7f) == 0 ? .exited((status >> 8) & 0xff) : .signaled(status & 0x7f)
            let waiters = process.exitState.withLock { state in
                state.status = exit
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume(returning: exit) }
            cgroup?.release()
        }
        reaper.name = "sluice-fn-\(pid)-reap"
        reaper.start()
        return process
    }

    /// Writes to the process's stdin. Throws when it closed its stdin.
    ///
    /// The stdin pipe does not block: what fits in it (a frame, nearly always) is written here, with no
    /// hop to another thread; the rest waits for room on the process's writer queue, off the cooperative
    /// pool. One writer at a time (an invocation's leader, or an `exec` invocation's input).
    func write(_ bytes: [UInt8]) async throws {
        let fd = stdinFD
        let done = try Self.writeAvailable(fd, bytes, from: 0)
        guard done < bytes.count else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            writer.async {
                var offset = done
                do {
                    while offset < bytes.count {
                        var waitForRoom = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                        _ = poll(&waitForRoom, 1, 1000)
                        offset = try Self.writeAvailable(fd, bytes, from: offset)
                    }
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Writes from `offset` until done or the pipe is full; the new offset.
    private static func writeAvailable(_ fd: Int32, _ bytes: [UInt8], from offset: Int) throws -> Int {
        var offset = offset
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { return offset }
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EPIPE)
            }
            offset += written
        }
        return offset
    }

    func closeStdin() { close(stdinFD) }

    var exitStatus: ProcessExit? { exitState.withLock { $0.status } }

    /// Waits for the process to end.
    func waitForExit() async -> ProcessExit {
        await withCheckedContinuation { continuation in
            let done: ProcessExit? = exitState.withLock { state in
                if let status = state.status { return status }
                state.waiters.append(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    /// Ends the process and everything it started: a sandbox through its cgroup (SIGKILL to every
    /// process in it); otherwise SIGTERM to the process group, `grace` to end, then SIGKILL to the group.
    func terminateGroup(grace: Duration = .seconds(1)) async {
        if let cgroup, finalUsage.withLock({ $0 == nil }) {
            kill(pid, SIGKILL)
            await cgroup.killAll()
            _ = await waitForExit()
            return
        }
        kill(-pid, SIGTERM)
        // `waitForExit` ends only with the process: past the grace, SIGKILL ends both.
        let ended =
            await withTimeout(grace, onTimeout: { kill(-self.pid, SIGKILL) }) { _ = await self.waitForExit() } != nil
        kill(-pid, SIGKILL)  // also whatever the leader left behind in its group
        if !ended { _ = await waitForExit() }
    }

    /// CPU time used so far (user + system; a sandbox's whole cgroup), in milliseconds.
    func cpuTimeMs() -> Double {
        if let usage = finalUsage.withLock({ $0 }) { return usage.cpuMs }
        if let cgroup { return Double(cgroup.cpuNanoseconds) / 1_000_000 }
        guard let stat = SmallFile.read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) * 1000 / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Peak memory so far (a sandbox's cgroup since its last `resetPeak`; else the peak RSS), in MB.
    func peakMemoryMB() -> Double {
        if let usage = finalUsage.withLock({ $0 }) { return usage.peakMB }
        if let cgroup { return Double(cgroup.peakMemoryBytes) / 1_048_576 }
        guard let status = SmallFile.read("/proc/\(pid)/status"), let field = status.range(of: "VmHWM:") else {
            return 0
        }
        let digits = status[field.upperBound...].drop { $0 == " " || $0 == "\t" }.prefix { $0.isNumber }
        return (Double(digits) ?? 0) / 1024
    }

    /// Processes of the sandbox the OOM killer ended so far.
    var oomKills: Int64 {
        if finalUsage.withLock({ $0 != nil }) { return finalOOMKills.load(ordering: .relaxed) }
        return cgroup?.oomKills ?? 0
    }

    var stderrTail: String { String(decoding: stderr.snapshot.suffix(2048), as: UTF8.self) }
}
