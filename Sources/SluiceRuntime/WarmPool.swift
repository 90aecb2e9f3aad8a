import Foundation
import SluiceFunctions
import Synchronization

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
    private let standbys: StandbyBudget
    /// A process of this version made ahead (docs/sandbox.md, "Fast starts"): its interpreter and runtime
    /// initialised, waiting to import the handler. Made once the version needed a process, while the
    /// worker's budget allows; the next start takes it.
    private var standby: PythonProcess?
    private var standbySince = ContinuousClock.now
    /// A standby being spawned, and who waits for it (`makeStandby`).
    private var standbyPending = false
    private var standbyWaiters: [CheckedContinuation<Void, Never>] = []
    private var neededProcess = false
    /// Shut down (its version left the registry): processes that finish their invocations are ended,
    /// and no standby is made.
    private var retired = false
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

    init(spec: FunctionSpec, launcher: ProcessLauncher, standbys: StandbyBudget) {
        self.spec = spec
        self.launcher = launcher
        self.standbys = standbys
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
        defer { replenishStandby() }
        if let process, healthy, !retired || !waiting.isEmpty, process.process.exitStatus == nil,
            !process.process.stdout.overflowed, process.leftNothingBehind
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

    /// Starts a process for a leader that got `.lead(nil)`: the standby if there is one, else a new one.
    func start() async throws -> PythonProcess {
        neededProcess = true
        if let ready = standby {
            standby = nil
            standbys.give()
            // One that ended meanwhile, or fails to start, is replaced by a new process (a handler that
            // cannot be imported then reports its error from there): a standby never makes a start fail.
            if ready.process.exitStatus == nil, (try? await ready.activate(timeout: startTimeout)) != nil {
                standbys.activated.add(1, ordering: .relaxed)
                ready.wasStandby.store(true, ordering: .relaxed)
                return ready
            }
        }
        return try await PythonProcess.start(spec: spec, launcher: launcher, timeout: startTimeout)
    }

    /// Makes a standby for the next start, once this version needed a process and the budget allows. The
    /// spawn runs on a queue of its own, off the path of the invocation that ends here.
    private func replenishStandby() {
        guard !retired, neededProcess, standby == nil, !standbyPending, standbys.take() else { return }
        standbyPending = true
        let (spec, launcher) = (self.spec, self.launcher)
        Self.spawning.async {
            let made = try? PythonProcess.spawn(spec: spec, launcher: launcher)
            Task { await self.install(made) }
        }
    }

    private static let spawning = DispatchQueue(label: "sluice.standby-spawn")

    private func install(_ made: PythonProcess?) async {
        standbyPending = false
        defer {
            for waiter in standbyWaiters { waiter.resume() }
            standbyWaiters = []
        }
        guard let made, !retired, neededProcess, standby == nil else {
            standbys.give()
            await made?.process.terminateGroup(grace: .zero)
            return
        }
        standby = made
        standbySince = .now
    }

    /// Makes a standby ahead of this version's first start (it replaces a version that had processes).
    func expectStarts() {
        neededProcess = true
        replenishStandby()
    }

    /// Makes the standby now unless there is one, and waits until it is initialised (`FunctionRunner.makeStandby`).
    func makeStandby(timeout: Duration) async -> Bool {
        neededProcess = true
        if standbyPending { await withCheckedContinuation { standbyWaiters.append($0) } }
        if standby == nil, standbys.take() {
            do {
                standby = try PythonProcess.spawn(spec: spec, launcher: launcher)
                standbySince = .now
            } catch {
                standbys.give()
            }
        }
        return await standbyReady(timeout: timeout)
    }

    /// Whether this version has a standby (one being spawned is awaited), initialised within `timeout`.
    func standbyReady(timeout: Duration) async -> Bool {
        if standbyPending { await withCheckedContinuation { standbyWaiters.append($0) } }
        guard let standby else { return false }
        return await standby.awaitWaiting(timeout: timeout)
    }

    /// Ends the standby (when the version retires, or it waited for the TTL with no process running).
    private func dropStandby() async {
        neededProcess = false
        guard let process = standby else { return }
        standby = nil
        standbys.give()
        await process.process.terminateGroup(grace: .zero)
    }

    /// Starts processes until the floor is warm.
    func prewarm() async {
        defer { replenishStandby() }
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
        // No process left and the standby unused for the TTL: it goes too (the budget serves versions in use).
        if warmCount == 0, standby != nil, standbySince < cutoff { await dropStandby() }
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

    /// Stops every idle process; busy ones finish their invocations (and those waiting for them), then
    /// end (the drain of a version that left the registry).
    func shutdown() async {
        retired = true
        await dropStandby()
        let processes = idle
        idle = []
        for entry in processes { await entry.process.process.terminateGroup(grace: .milliseconds(200)) }
    }

    /// A sandbox with a small CPU quota on a busy machine can take seconds to import python.
    private var startTimeout: Duration { .seconds(max(30, spec.manifest.timeoutSeconds)) }
}

/// How many standbys (`WarmPool.standby`) a worker keeps at once, over all its function versions: each
/// holds a sandbox and an initialised interpreter (about 10 MB). 0: every start is a new process.
final class StandbyBudget: Sendable {
    let limit: Int
    private let used = Atomic<Int>(0)
    /// Starts that took a standby.
    let activated = Atomic<Int>(0)

    init(limit: Int) { self.limit = max(0, limit) }

    /// Takes a place; false when all are taken.
    func take() -> Bool {
        var current = used.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = used.compareExchange(
                expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func give() { used.subtract(1, ordering: .relaxed) }
}
