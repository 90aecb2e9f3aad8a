import Foundation
import SluiceFunctions

/// Warm `python3` processes of one function version (never shared across versions or tenants): idle
/// ones are reused, a crashed or timed-out one is discarded and replaced on demand, and idle ones past
/// the TTL are retired down to the floor: `min_warm`, or the autoscaler's target when that is higher.
///
/// Invocations take turns: one that finds an idle process, or room for one more process, leads — it runs
/// on that process, with the invocations waiting behind it as one batch; the others wait. A process
/// that ends a batch goes to the next waiting invocation as its leader, so a busy function's processes
/// never sit idle while invocations wait, and each frame carries what queued up meanwhile.
actor WarmPool {
    let spec: FunctionSpec
    private let launcher: ProcessLauncher
    private var idle: [(process: PythonProcess, since: ContinuousClock.Instant)] = []
    /// Processes running a batch or being started for one.
    private var busy = 0
    /// Warm processes the autoscaler wants kept (per worker); nil until it decides.
    private var target: Int?
    /// Invocations waiting for a process, oldest first.
    private var waiting: [Waiter] = []

    struct Waiter {
        let input: InvocationInput
        let turn: CheckedContinuation<Turn, Never>
    }

    /// What an invocation gets when its turn comes.
    enum Turn: Sendable {
        /// Lead a batch on this process (nil: start one first; the pool counts it already).
        case lead(PythonProcess?)
        /// Another invocation's batch ran this one.
        case done(InvocationOutcome)
    }

    private var floor: Int { max(spec.manifest.minWarm, target ?? 0) }

    init(spec: FunctionSpec, launcher: ProcessLauncher) {
        self.spec = spec
        self.launcher = launcher
    }

    var warmCount: Int { idle.count + busy }

    /// The invocation's turn: lead at once (an idle process, or room for one more of `maxProcesses`), or
    /// wait for a leader to run it or to hand it a process.
    func turn(for input: InvocationInput, maxProcesses: Int) async -> Turn {
        while let (process, _) = idle.popLast() {
            if process.process.exitStatus == nil {
                busy += 1
                return .lead(process)
            }
        }
        if busy < max(1, maxProcesses) {
            busy += 1
            return .lead(nil)
        }
        return await withCheckedContinuation { waiting.append(Waiter(input: input, turn: $0)) }
    }

    /// Up to `limit` waiting invocations, oldest first, for a leader's batch.
    func followers(limit: Int) -> [Waiter] {
        let taken = Array(waiting.prefix(max(0, limit)))
        waiting.removeFirst(taken.count)
        return taken
    }

    /// Returns a process after a batch (nil: it could not be started): to the next waiting invocation
    /// as its leader, else to the idle ones. An unhealthy process is ended, and the next waiting
    /// invocation leads on a new one.
    func release(_ process: PythonProcess?, healthy: Bool) async {
        if let process, healthy, process.process.exitStatus == nil, !process.process.stdout.overflowed,
            process.leftNothingBehind
        {
            if waiting.isEmpty {
                busy -= 1
                idle.append((process, .now))
            } else {
                waiting.removeFirst().turn.resume(returning: .lead(process))
            }
            return
        }
        if let process { await process.process.terminateGroup(grace: .milliseconds(200)) }
        if waiting.isEmpty {
            busy -= 1
        } else {
            waiting.removeFirst().turn.resume(returning: .lead(nil))
        }
    }

    /// Starts a process for a leader that got `.lead(nil)`.
    func start() async throws -> PythonProcess {
        try await PythonProcess.start(spec: spec, launcher: launcher, timeout: startTimeout)
    }

    /// Starts processes until the floor is warm.
    func prewarm() async {
        while warmCount < floor {
            guard let process = try? await start() else { return }
            idle.append((process, .now))
        }
    }

    /// Retires idle processes unused for `ttl`, keeping the floor.
    func retireIdle(ttl: Duration) async {
        let cutoff = ContinuousClock.now - ttl
        while warmCount > floor, let oldest = idle.first, oldest.since < cutoff {
            idle.removeFirst()
            await oldest.process.process.terminateGroup(grace: .milliseconds(200))
        }
    }

    /// Applies the autoscaler's decision: starts processes up to `processes`, or retires idle ones down
    /// to it at once (not below `min_warm`).
    func setTarget(_ processes: Int) async {
        target = max(0, processes)
        await prewarm()
        while warmCount > floor, let oldest = idle.first {
            idle.removeFirst()
            await oldest.process.process.terminateGroup(grace: .milliseconds(200))
        }
    }

    /// Stops every idle process (busy ones are stopped by their invocations' release).
    func shutdown() async {
        let processes = idle
        idle = []
        for entry in processes { await entry.process.process.terminateGroup(grace: .milliseconds(200)) }
    }

    /// A sandbox with a small CPU quota on a busy machine can take seconds to import python.
    private var startTimeout: Duration { .seconds(max(30, spec.manifest.timeoutSeconds)) }
}
