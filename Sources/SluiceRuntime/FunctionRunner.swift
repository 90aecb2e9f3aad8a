import Foundation
import Logging
import SluiceFunctions
import SluiceSandbox
import SluiceSupport
import Synchronization

/// Runs invocations of deployed functions: `python3` on warm pools, `exec` as one process per
/// invocation, each process in its own sandbox; enforces `timeout_seconds` by killing the sandbox (or,
/// unsandboxed, the process group: SIGTERM, grace, SIGKILL). Resource figures come from the sandbox's
/// cgroup: per invocation, CPU as a delta and memory as the peak over what the process held before.
public final class FunctionRunner: Sendable {
    private let launcher: ProcessLauncher
    private let pools = Mutex<[String: WarmPool]>([:])
    private let logger: Logger
    /// Time a timed-out process gets between SIGTERM and SIGKILL.
    public let killGrace: Duration

    public init(
        launcher: ProcessLauncher, killGrace: Duration = .seconds(1), logger: Logger = Logger(label: "sluice.runtime")
    ) {
        self.launcher = launcher
        self.killGrace = killGrace
        self.logger = logger
    }

    /// Runs one invocation to its end; never throws: failures are outcomes.
    public func invoke(_ spec: FunctionSpec, _ input: InvocationInput) async -> InvocationOutcome {
        let started = ContinuousClock.now
        var outcome: InvocationOutcome
        switch spec.manifest.runtime {
        case .python3: outcome = await invokePython(spec, input)
        case .exec: outcome = await invokeExec(spec, input)
        }
        outcome.durationMs = (ContinuousClock.now - started) / .milliseconds(1)
        return outcome
    }

    /// Starts `min_warm` processes of a function version.
    public func prewarm(_ spec: FunctionSpec) async {
        guard spec.manifest.runtime == .python3 else { return }
        await pool(for: spec).prewarm()
    }

    /// Keeps `processes` warm processes of a function version (the autoscaler's decision for this worker).
    public func setWarmTarget(_ spec: FunctionSpec, processes: Int) async {
        guard spec.manifest.runtime == .python3 else { return }
        await pool(for: spec).setTarget(processes)
    }

    /// Retires idle processes past `ttl`, and every process of versions no longer current.
    public func maintain(ttl: Duration, current: (String) -> FunctionSpec?) async {
        let stale = pools.withLock { pools in
            let stale = pools.filter { current($0.value.spec.name).map(Self.poolKey) != $0.key }
            for key in stale.keys { pools[key] = nil }
            return Array(stale.values)
        }
        for pool in stale { await pool.shutdown() }
        for pool in pools.withLock({ Array($0.values) }) { await pool.retireIdle(ttl: ttl) }
    }

    /// Warm processes (idle and busy) per function name.
    public func warmProcesses() async -> [String: Int] {
        var counts: [String: Int] = [:]
        for pool in pools.withLock({ Array($0.values) }) { counts[pool.spec.name, default: 0] += await pool.warmCount }
        return counts
    }

    public func shutdown() async {
        let all = pools.withLock { pools in
            defer { pools = [:] }
            return Array(pools.values)
        }
        for pool in all { await pool.shutdown() }
    }

    /// Pools are per tenant, function, version and code: never shared across any of them.
    static func poolKey(_ spec: FunctionSpec) -> String {
        "\(spec.manifest.tenant)/\(spec.name)@\(spec.version)#\(spec.codeHash)"
    }

    private func pool(for spec: FunctionSpec) -> WarmPool {
        pools.withLock { pools in
            let key = Self.poolKey(spec)
            if let pool = pools[key] { return pool }
            let pool = WarmPool(spec: spec, launcher: launcher)
            pools[key] = pool
            return pool
        }
    }

    private func invokePython(_ spec: FunctionSpec, _ input: InvocationInput) async -> InvocationOutcome {
        let pool = pool(for: spec)
        let acquired: (process: PythonProcess, cold: Bool)
        do {
            acquired = try await pool.acquire()
        } catch let refusal as SandboxRefusal {
            var outcome = InvocationOutcome(status: .sandbox, error: refusal.message)
            outcome.retryable = false
            return outcome
        } catch {
            var outcome = InvocationOutcome(status: .crash, error: "\(error)")
            outcome.coldStart = true
            return outcome
        }
        let python = acquired.process
        let before = Usage(python.process)
        var outcome = await bounded(spec, process: python.process) { await python.invoke(input) }
        before.apply(to: &outcome, process: python.process, spec: spec)
        outcome.coldStart = acquired.cold
        outcome.processID = python.process.pid
        if outcome.status != .success { outcome.stderrTail = python.process.stderrTail }
        await pool.release(python, healthy: outcome.status == .success || outcome.status == .error)
        return outcome
    }

    /// A process's resource counters when an invocation starts, to report the invocation's own use.
    struct Usage {
        let cpuMs: Double
        let memoryBytes: Int64
        let oomKills: Int64
        let pidsLimitHits: Int64

        /// Nothing used before (a process started for this one invocation).
        static let zero = Usage(cpuMs: 0, memoryBytes: 0, oomKills: 0, pidsLimitHits: 0)

        init(cpuMs: Double, memoryBytes: Int64, oomKills: Int64, pidsLimitHits: Int64) {
            self.cpuMs = cpuMs
            self.memoryBytes = memoryBytes
            self.oomKills = oomKills
            self.pidsLimitHits = pidsLimitHits
        }

        init(_ process: FunctionProcess) {
            cpuMs = process.cpuTimeMs()
            memoryBytes = process.cgroup?.memoryBytes ?? 0
            oomKills = process.oomKills
            pidsLimitHits = process.cgroup?.pidsLimitHits ?? 0
            process.cgroup?.resetPeak()
        }

        /// Sets the invocation's CPU (delta), memory (peak above the start) and the sandbox's verdicts:
        /// `oom` when the OOM killer struck, `sandbox` when seccomp killed the process (SIGSYS), and a
        /// note when `pids_max` stopped a fork.
        func apply(to outcome: inout InvocationOutcome, process: FunctionProcess, spec: FunctionSpec) {
            outcome.cpuMsUsed = max(0, process.cpuTimeMs() - cpuMs)
            outcome.memoryUsedMB = max(0, process.peakMemoryMB() - Double(memoryBytes) / 1_048_576)
            if process.oomKills > oomKills {
                outcome = InvocationOutcome(
                    status: .oom, error: "killed for going over memory_mb (\(spec.manifest.memoryMB) MB)")
                outcome.cpuMsUsed = max(0, process.cpuTimeMs() - cpuMs)
                outcome.memoryUsedMB = Double(spec.manifest.memoryMB)
            } else if process.exitStatus == .signaled(SIGSYS) {
                outcome = InvocationOutcome(
                    status: .sandbox, error: "killed by the sandbox for a forbidden system call (SIGSYS)")
            } else if outcome.status != .success, let cgroup = process.cgroup, cgroup.pidsLimitHits > pidsLimitHits {
                outcome.error =
                    (outcome.error ?? "") + " (the sandbox's pids_max of \(spec.manifest.pidsMax) was reached)"
            }
        }
    }

    private func invokeExec(_ spec: FunctionSpec, _ input: InvocationInput) async -> InvocationOutcome {
        let process: FunctionProcess
        do {
            process = try launcher.start(spec) { code, _ in [code + "/" + spec.manifest.handler] }
        } catch let refusal as SandboxRefusal {
            var outcome = InvocationOutcome(status: .sandbox, error: refusal.message)
            outcome.retryable = false
            return outcome
        } catch {
            return InvocationOutcome(status: .crash, error: "\(error)")
        }
        var outcome = await bounded(spec, process: process) {
            try? await process.write(input.event ?? [])
            process.closeStdin()
            let output = await process.stdout.wait { bytes, eof in eof ? bytes : nil }
            let exit = await process.waitForExit()
            if exit == .exited(Self.nonRetryableExitCode) {
                var outcome = InvocationOutcome(
                    status: .error, error: "\(spec.manifest.handler) \(exit.description) (not retryable)")
                outcome.retryable = false
                return outcome
            }
            guard exit == .exited(0) else {
                return InvocationOutcome(status: .crash, error: "\(spec.manifest.handler) \(exit.description)")
            }
            return InvocationOutcome(status: .success, output: Self.jsonOutput(output))
        }
        outcome.coldStart = true
        outcome.processID = process.pid
        outcome.stderrTail = process.stderrTail
        _ = await process.waitForExit()
        // A process started for this invocation, in a new cgroup: everything it used is the invocation's.
        Usage.zero.apply(to: &outcome, process: process, spec: spec)
        outcome.stderrTail = process.stderrTail
        if outcome.status == .crash || outcome.status == .error, outcome.error != nil, !outcome.stderrTail.isEmpty {
            outcome.error! += ": " + outcome.stderrTail.suffix(500)
        }
        return outcome
    }

    /// Runs `work`, or kills the process group when `timeout_seconds` passes first.
    private func bounded(
        _ spec: FunctionSpec, process: FunctionProcess, _ work: @escaping @Sendable () async -> InvocationOutcome
    ) async -> InvocationOutcome {
        let timeout = Duration.milliseconds(Int(spec.manifest.timeoutSeconds * 1000))
        // Timed out: the whole group is killed, then `work` sees the process end.
        let result = await withTimeout(
            timeout, onTimeout: { await process.terminateGroup(grace: self.killGrace) }, work)
        if let result { return result }
        var outcome = InvocationOutcome(
            status: .timeout, error: "timed out after \(spec.manifest.timeoutSeconds) s; process group killed")
        outcome.retryable = true
        return outcome
    }

    /// The exit status with which an `exec` function reports an error that must not be retried
    /// (EX_DATAERR of sysexits.h). Other non-zero exits are `crash`.
    public static let nonRetryableExitCode: Int32 = 65

    /// Output bytes as JSON text: kept when they are JSON, else a JSON string.
    static func jsonOutput(_ bytes: [UInt8]) -> [UInt8] {
        var trimmed = bytes
        while let last = trimmed.last, last == 0x0A || last == 0x0D || last == 0x20 { trimmed.removeLast() }
        if !trimmed.isEmpty,
            (try? JSONSerialization.jsonObject(with: Data(trimmed), options: [.fragmentsAllowed])) != nil
        {
            return trimmed
        }
        let text = String(decoding: trimmed, as: UTF8.self)
        return Array(
            (try? JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed])) ?? Data("null".utf8))
    }
}
