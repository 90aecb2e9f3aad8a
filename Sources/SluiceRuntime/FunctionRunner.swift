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
    let launcher: ProcessLauncher
    private let pools = Mutex<[String: WarmPool]>([:])
    private let logger: Logger
    /// Time a timed-out process gets between SIGTERM and SIGKILL.
    public let killGrace: Duration
    /// Most invocations in one frame to a warm process (1: no batches).
    public let batchLimit: Int
    private let standbys: StandbyBudget
    let execStandbys: ExecStandbys

    /// - Parameter standbyProcesses: python3 processes made ahead for the next start of versions in use,
    ///   at most this many on the worker (`sandbox.standby_processes`; 0: none, every start is a new process).
    public init(
        launcher: ProcessLauncher, killGrace: Duration = .seconds(1), batchLimit: Int = FunctionRunner.maxBatch,
        standbyProcesses: Int = PlatformConfiguration.standard.standbyProcesses,
        logger: Logger = Logger(label: "sluice.runtime")
    ) {
        self.launcher = launcher
        self.killGrace = killGrace
        self.batchLimit = max(1, batchLimit)
        self.standbys = StandbyBudget(limit: standbyProcesses)
        self.execStandbys = ExecStandbys(launcher: launcher, budget: standbys)
        self.logger = logger
    }

    /// Most invocations one frame to a warm process carries, by default.
    public static let maxBatch = 16

    /// How many invocations of `spec` may be in flight on a worker whose limit is `processes` processes
    /// at once: python3 invocations queue for a warm process and go to it in batches; an `exec`
    /// invocation is a process of its own.
    public static func invocationsInFlight(_ spec: FunctionSpec, processes: Int) -> Int {
        spec.manifest.runtime == .python3 ? processes * maxBatch : processes
    }

    /// Runs one invocation to its end; never throws: failures are outcomes. At most `maxProcesses`
    /// processes of the function run at once (nil: its `max_concurrency`).
    public func invoke(_ spec: FunctionSpec, _ input: InvocationInput, maxProcesses: Int? = nil) async
        -> InvocationOutcome
    {
        switch spec.manifest.runtime {
        case .python3:
            return await invokePython(spec, input, maxProcesses: maxProcesses ?? spec.manifest.maxConcurrency)
        case .exec:
            let started = ContinuousClock.now
            var outcome = await invokeExec(spec, input)
            outcome.durationMs = (ContinuousClock.now - started) / .milliseconds(1)
            return outcome
        }
    }

    /// Starts `min_warm` processes of a function version.
    public func prewarm(_ spec: FunctionSpec) async {
        guard spec.manifest.runtime == .python3 else { return }
        await pool(for: spec).prewarm()
    }

    /// How many starts took a standby so far.
    public var standbyStarts: Int { standbys.activated.load(ordering: .relaxed) }

    /// Makes a standby of a version now, as a start would after it; a python3 one is awaited (up to
    /// `timeout`) until it is initialised. False when the budget is used up or it did not start. For
    /// benchmarks and tests: a worker makes standbys as versions need processes.
    public func makeStandby(_ spec: FunctionSpec, timeout: Duration) async -> Bool {
        switch spec.manifest.runtime {
        case .python3: return await pool(for: spec).makeStandby(timeout: timeout)
        case .exec: return execStandbys.make(spec, stdoutLimit: Self.maxExecOutputBytes)
        }
    }

    /// Whether a python3 version has a standby, initialised within `timeout` (one being spawned is awaited).
    public func hasStandby(_ spec: FunctionSpec, timeout: Duration) async -> Bool {
        guard spec.manifest.runtime == .python3 else { return false }
        return await pool(for: spec).standbyReady(timeout: timeout)
    }

    /// Keeps `processes` warm processes of a function version (the autoscaler's decision for this worker).
    public func setWarmTarget(_ spec: FunctionSpec, processes: Int) async {
        guard spec.manifest.runtime == .python3 else { return }
        await pool(for: spec).setTarget(processes)
    }

    /// Retires idle processes past `ttl`, and every process of versions no longer current.
    public func maintain(ttl: Duration, current: (String) -> FunctionSpec?) async {
        await maintain(ttl: ttl, running: { current($0).map { [$0] } ?? [] })
    }

    /// `maintain` for functions that may run more than one version at once (a stable one and its canary):
    /// `running` gives them per function name.
    public func maintain(ttl: Duration, running: (String) -> [FunctionSpec]) async {
        let stale = pools.withLock { pools in
            let stale = pools.filter { !running($0.value.spec.name).map(Self.poolKey).contains($0.key) }
            for key in stale.keys { pools[key] = nil }
            return Array(stale.values)
        }
        for pool in stale { await pool.shutdown() }
        // A replaced version's next start is its successor's first: that one gets a standby ahead.
        for spec in stale.flatMap({ running($0.spec.name) }) where spec.manifest.runtime == .python3 {
            await pool(for: spec).expectStarts()
        }
        for pool in pools.withLock({ Array($0.values) }) { await pool.retireIdle(ttl: ttl) }
        await execStandbys.retire(ttl: ttl, running: running)
    }

    /// Warm processes (idle and busy) per function name.
    public func warmProcesses() async -> [String: Int] {
        var counts: [String: Int] = [:]
        for pool in pools.withLock({ Array($0.values) }) { counts[pool.spec.name, default: 0] += await pool.warmCount }
        return counts
    }

    public func shutdown() async {
        await execStandbys.shutdown()
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
            let pool = WarmPool(spec: spec, launcher: launcher, standbys: standbys)
            pools[key] = pool
            return pool
        }
    }

    /// Waits for its turn (WarmPool); as a leader, runs a batch: itself and the invocations waiting
    /// behind it, on one process.
    private func invokePython(_ spec: FunctionSpec, _ input: InvocationInput, maxProcesses: Int) async
        -> InvocationOutcome
    {
        let pool = pool(for: spec)
        switch await pool.turn(for: input, maxProcesses: maxProcesses) {
        case .done(let outcome): return outcome
        case .lead(let warm): return await lead(pool, spec: spec, input: input, process: warm)
        }
    }

    private func lead(_ pool: WarmPool, spec: FunctionSpec, input: InvocationInput, process warm: PythonProcess?) async
        -> InvocationOutcome
    {
        let python: PythonProcess
        if let warm {
            python = warm
        } else {
            do {
                python = try await pool.start()
            } catch {
                await pool.release(nil, healthy: false)
                return Self.startFailure(error)
            }
        }
        let followers = await pool.followers(limit: batchLimit - 1)
        var outcomes = await runBatch(spec, python: python, inputs: [input] + followers.map(\.input))
        outcomes[0].coldStart = warm == nil
        outcomes[0].standbyStart = warm == nil && python.wasStandby.load(ordering: .relaxed)
        for (follower, outcome) in zip(followers, outcomes.dropFirst()) {
            follower.turn.resume(returning: .done(outcome))
        }
        await pool.release(python, healthy: outcomes.allSatisfy { $0.status == .success || $0.status == .error })
        return outcomes[0]
    }

    private static func startFailure(_ error: any Error) -> InvocationOutcome {
        if let refusal = error as? SandboxRefusal {
            var outcome = InvocationOutcome(status: .sandbox, error: refusal.message)
            outcome.retryable = false
            return outcome
        }
        var outcome = InvocationOutcome(status: .crash, error: "\(error)")
        outcome.coldStart = true
        return outcome
    }

    /// Sends `inputs` in one frame and takes their replies in order, each bounded by `timeout_seconds`.
    /// When one times out or the process dies, the later ones did not run: `crash`, retryable. In a batch,
    /// each invocation is charged an equal share of the batch's CPU and the batch's memory peak.
    private func runBatch(_ spec: FunctionSpec, python: PythonProcess, inputs: [InvocationInput]) async
        -> [InvocationOutcome]
    {
        let before = Usage(python.process)
        var outcomes: [InvocationOutcome] = []
        if await python.send(inputs) {
            outcomes = await takeReplies(spec, python: python, count: inputs.count)
        }
        // The sandbox's verdicts (oom…) and the resources go to the invocations that ran, never to those
        // after a failure, which did not run and stay retryable.
        if !outcomes.isEmpty { before.apply(to: &outcomes, process: python.process, spec: spec) }
        if outcomes.count < inputs.count {
            let reason = outcomes.last?.status == .timeout ? "an earlier invocation of its batch timed out" : "it died"
            var notRun = InvocationOutcome(
                status: .crash, error: "not run: the python3 process was ended before it (\(reason))")
            notRun.retryable = true
            outcomes += Array(repeating: notRun, count: inputs.count - outcomes.count)
        }
        for index in outcomes.indices {
            outcomes[index].batchSize = inputs.count
            outcomes[index].processID = python.process.pid
            if outcomes[index].status != .success { outcomes[index].stderrTail = python.process.stderrTail }
        }
        return outcomes
    }
}
