import Foundation
import Logging
import SluiceFunctions
import SluiceRuntime
import SluiceSandbox
import SluiceSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The fast-start measurements of `sluice bench sandbox` (docs/sandbox.md, "Fast starts"): a sandbox
/// made ahead and started by one byte, and python3 instances started from a standby against new
/// processes, for a no-op handler and one that imports heavier standard-library modules.
extension SandboxBenchmark {
    /// (iii-c) `/bin/true` in a standby sandbox: made (untimed) and stopped before its exec; timed from the
    /// byte that starts it to its exit.
    static func standbyStarts(
        _ count: Int, sandboxing: Sandboxing, policy: SandboxPolicy, code: String
    ) async throws -> Percentiles {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do {
                    var samples: [Double] = []
                    for run in 0...count {
                        let command = try sandboxing.command(
                            policy: policy, code: code, runtime: nil, program: ["/bin/true"], standby: true)
                        let milliseconds = try startStandby(command)
                        command.cgroup?.release()
                        if run > 0 { samples.append(milliseconds) }  // run 0 warms up
                    }
                    continuation.resume(returning: Percentiles(samples))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.start()
        }
    }

    /// Spawns a standby, waits until its function process stopped (filtered, waiting on stdin), then times
    /// one byte to exit, in ms.
    private static func startStandby(_ command: Sandboxing.Command) throws -> Double {
        var input: [Int32] = [0, 0]
        guard pipe(&input) == 0 else { throw SandboxUnavailable(missing: ["pipe: \(errno)"]) }
        let null = open("/dev/null", O_RDWR)
        defer {
            close(null)
            close(input[1])
        }
        let pid = try ChildProcess.spawn(
            command.executable, command.arguments, environment: ["PATH": "/usr/bin:/bin"], directory: "/",
            stdin: input[0], stdout: null, stderr: null, newSession: false, inherit: command.inherited)
        close(input[0])
        guard let cgroup = command.cgroup, waitUntilStopped(cgroup) else {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            throw SandboxUnavailable(missing: ["a standby sandbox did not reach its exec within 10 s"])
        }
        let start = ContinuousClock.now
        var go: UInt8 = 1
        _ = write(input[1], &go, 1)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let milliseconds = (ContinuousClock.now - start).inSeconds * 1000
        guard status == 0 else { throw SandboxUnavailable(missing: ["a standby /bin/true exited with \(status)"]) }
        return milliseconds
    }

    /// Whether a process of the sandbox has its seccomp filter and sleeps (the standby's wait), within 10 s.
    private static func waitUntilStopped(_ cgroup: Cgroup) -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            for pid in cgroup.processes {
                let status = SmallFile.read("/proc/\(pid)/status") ?? ""
                if status.contains("Seccomp:\t2"), status.contains("State:\tS") { return true }
            }
            usleep(100)
        }
        return false
    }

    /// (iv) python3 `handler` under the sandbox, from the request of an invocation that needs a new
    /// instance to its reply: a new process each run, or (`standby`) one made ahead (untimed).
    static func pythonFirstReplies(
        _ manifest: FunctionManifest, runs: Int, sandboxing: Sandboxing, standby: Bool
    ) async throws -> Percentiles {
        let runner = FunctionRunner(
            launcher: ProcessLauncher(sandboxing: sandboxing), standbyProcesses: standby ? 1 : 0,
            logger: Logger(label: "sluice.bench"))
        var samples: [Double] = []
        for run in 0..<runs {
            // A new version each run: a pool of its own, so every invocation starts an instance.
            let spec = FunctionSpec(manifest: manifest, version: run + 1, codeHash: "bench")
            if standby, await !runner.makeStandby(spec, timeout: .seconds(30)) {
                throw SandboxUnavailable(missing: ["a python3 standby of \(manifest.handler) did not initialise"])
            }
            let start = ContinuousClock.now
            let outcome = await runner.invoke(
                spec, InvocationInput(invocationID: "inv_bench_\(run)", event: nil, contextJSON: Array("{}".utf8)))
            samples.append((ContinuousClock.now - start).inSeconds * 1000)
            guard outcome.status == .success, outcome.coldStart else {
                throw SandboxUnavailable(missing: [
                    "\(manifest.handler) failed under the sandbox: \(outcome.error ?? outcome.status.rawValue)"
                ])
            }
            await runner.maintain(ttl: .zero) { _ in nil }
        }
        await runner.shutdown()
        return Percentiles(samples)
    }

    /// A handler that imports heavier standard-library modules than the runtime does.
    static let heavyHandler = """
        import decimal, email.parser, email.policy, fractions, statistics, urllib.parse


        def main(event, context):
            return None

        """
}
