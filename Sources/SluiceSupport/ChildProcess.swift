import CSluiceSys
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Starts and stops helper processes (the embedded broker) with `posix_spawn`.
public enum ChildProcess {
    /// How a started process relates to this one.
    public enum Lifetime: Sendable {
        /// Its own session: it outlives this process (`sluice broker start`).
        case detached
        /// Killed by the kernel when this process dies, also by SIGKILL (test harness).
        case tiedToParent
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Starts `executable` with `arguments`, stdin from /dev/null and stdout+stderr appended to `logFile`.
    public static func spawn(_ executable: String, _ arguments: [String], logFile: URL, lifetime: Lifetime) throws
        -> pid_t
    {
        switch lifetime {
        case .detached:
            return try posixSpawn(executable, arguments, logFile: logFile.path, newSession: true)
        case .tiedToParent:
            // PR_SET_PDEATHSIG follows the thread that forked, so a dedicated thread forks and stays alive
            // waiting for the child; setpriv sets the signal in the child before exec.
            let started = DispatchSemaphore(value: 0)
            let box = SpawnResult()
            let thread = Thread {
                do {
                    let pid = try posixSpawn(
                        "/usr/bin/setpriv", ["--pdeathsig", "KILL", "--", executable] + arguments,
                        logFile: logFile.path, newSession: false)
                    box.set(.success(pid))
                    started.signal()
                    exits.ended(pid, status: waitForExit(pid))
                } catch {
                    box.set(.failure(error))
                    started.signal()
                }
            }
            thread.name = "sluice-child-\(URL(fileURLWithPath: executable).lastPathComponent)"
            thread.start()
            started.wait()
            return try box.get()
        }
    }

    /// Blocks until the child `pid` (started with `spawn`) ends and reaps it: its exit code, 128 + the
    /// signal that ended it, or -1 when it is not a child of this process. Call through `BlockingCalls`.
    public static func waitForExit(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            if errno != EINTR { return -1 }
        }
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Waits until a `.tiedToParent` child has ended; returns its exit code (128 + the signal when a
    /// signal killed it).
    public static func exitStatus(_ pid: pid_t) async -> Int32 {
        await exits.wait(pid)
    }

    private static let exits = ExitBook()

    /// Whether a process with this pid exists (and is not a zombie).
    public static func isAlive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        if let close = stat.lastIndex(of: ")") {
            let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).prefix(1)
            return state != "Z"
        }
        return true
    }

    /// Sends SIGTERM, waits up to `graceSeconds`, then SIGKILL. Returns once the process is gone.
    ///
    /// The wait runs on a thread of its own: a cancelled caller (a supervisor stopping) still gives the
    /// process its grace, and never spins the cooperative pool while it does.
    public static func terminate(_ pid: pid_t, graceSeconds: Double = 5) async {
        guard isAlive(pid) else { return }
        kill(pid, SIGTERM)
        await BlockingCalls.run {
            let deadline = Date().addingTimeInterval(graceSeconds)
            while isAlive(pid) && Date() < deadline { usleep(20_000) }
            if isAlive(pid) { kill(pid, SIGKILL) }
        }
    }

    private final class SpawnResult: @unchecked Sendable {
        private let lock = NSLock()
        private var result: Result<pid_t, any Error> = .failure(SpawnError(description: "not started"))
        func set(_ value: Result<pid_t, any Error>) { lock.withLock { result = value } }
        func get() throws -> pid_t { try lock.withLock { try result.get() } }
    }

    private static func posixSpawn(_ executable: String, _ arguments: [String], logFile: String, newSession: Bool)
        throws -> pid_t
    {
        let log = open(logFile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard log >= 0 else {
            throw SpawnError(description: "cannot open \(logFile): \(String(cString: strerror(errno)))")
        }
        defer { close(log) }
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(null) }
        return try spawn(
            executable, arguments, environment: nil, directory: nil, stdin: null, stdout: log, stderr: log,
            newSession: newSession)
    }

    /// `posix_spawn` with the given descriptors as 0, 1 and 2, every other descriptor closed, default
    /// signal handling, and optionally a new session (so the child's whole process group can be killed).
    /// `environment` nil inherits this process's; `inherit` is passed on as descriptor 3.
    public static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String]?, directory: String?,
        stdin: Int32, stdout: Int32, stderr: Int32, newSession: Bool, inherit: Int32? = nil
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        if let inherit { posix_spawn_file_actions_adddup2(&actions, inherit, 3) }
        // Inherit nothing else: a long-lived child holding another pipe's write end would keep it open.
        sluice_spawn_file_actions_addclosefrom(&actions, inherit == nil ? 3 : 4)
        if let directory { sluice_spawn_file_actions_addchdir(&actions, directory) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var flags = Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if newSession { flags |= sluice_spawn_setsid_flag() }
        posix_spawnattr_setflags(&attributes, flags)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        var pid: pid_t = 0
        let result: Int32
        if let environment {
            let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
            defer { for entry in envp { free(entry) } }
            result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        } else {
            result = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        }
        guard result == 0 else {
            throw SpawnError(description: "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        return pid
    }
}

/// Exit statuses of reaped children and the callers waiting for them.
private final class ExitBook: Sendable {
    private let state = Mutex<(statuses: [pid_t: Int32], waiters: [pid_t: [CheckedContinuation<Int32, Never>]])>(
        ([:], [:]))

    func ended(_ pid: pid_t, status: Int32) {
        let waiters = state.withLock { state in
            state.statuses[pid] = status
            return state.waiters.removeValue(forKey: pid) ?? []
        }
        for waiter in waiters { waiter.resume(returning: status) }
    }

    func wait(_ pid: pid_t) async -> Int32 {
        await withCheckedContinuation { continuation in
            let status = state.withLock { state -> Int32? in
                if let status = state.statuses[pid] { return status }
                state.waiters[pid, default: []].append(continuation)
                return nil
            }
            if let status { continuation.resume(returning: status) }
        }
    }
}
