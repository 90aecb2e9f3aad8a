import Foundation
import SluiceFunctions
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `exec` sandboxes made ahead (docs/sandbox.md, "Fast starts"): per function version in use, one
/// sandbox built and stopped just before its exec (the launcher's `--standby`), so the next invocation
/// starts with one byte on its stdin instead of building a sandbox. They share the worker's standby
/// budget with the python3 ones.
final class ExecStandbys: Sendable {
    private let launcher: ProcessLauncher
    private let budget: StandbyBudget
    private let ready = Mutex<[String: (process: FunctionProcess, spec: FunctionSpec, since: ContinuousClock.Instant)]>(
        [:])
    private let pending = Mutex<Set<String>>([])
    private let closed = Atomic<Bool>(false)
    private static let spawning = DispatchQueue(label: "sluice.exec-standby-spawn")
    /// What starts a standby's program.
    static let go: [UInt8] = [1]

    init(launcher: ProcessLauncher, budget: StandbyBudget) {
        self.launcher = launcher
        self.budget = budget
    }

    /// The ready standby of this version, taken; nil when there is none (or it ended meanwhile).
    func take(_ spec: FunctionSpec) -> FunctionProcess? {
        guard let entry = ready.withLock({ $0.removeValue(forKey: FunctionRunner.poolKey(spec)) }) else { return nil }
        budget.give()
        guard entry.process.exitStatus == nil else { return nil }
        budget.activated.add(1, ordering: .relaxed)
        return entry.process
    }

    /// Makes a standby of this version for its next invocation, on a queue of its own (off the path of
    /// the invocation that asks), unless one is ready or being made, or the budget is used up.
    func replenish(_ spec: FunctionSpec, stdoutLimit: Int) {
        guard spec.manifest.isolation == .sandbox, launcher.sandboxing != nil, !closed.load(ordering: .relaxed)
        else { return }
        let key = FunctionRunner.poolKey(spec)
        guard ready.withLock({ $0[key] == nil }), pending.withLock({ $0.insert(key).inserted }) else { return }
        guard budget.take() else {
            pending.withLock { _ = $0.remove(key) }
            return
        }
        Self.spawning.async { [self] in
            let made = try? launcher.start(spec, stdoutLimit: stdoutLimit, standby: true) { code, _ in
                [code + "/" + spec.manifest.handler]
            }
            pending.withLock { _ = $0.remove(key) }
            guard let made, !closed.load(ordering: .relaxed) else {
                budget.give()
                // Killing the launcher ends its sandbox (its init dies with it); the reaper frees the cgroup.
                if let made { kill(made.pid, SIGKILL) }
                return
            }
            ready.withLock { $0[key] = (made, spec, .now) }
        }
    }

    /// Makes a standby of this version now, in the caller (`FunctionRunner.makeStandby`); false when the
    /// budget is used up or the sandbox could not be started.
    func make(_ spec: FunctionSpec, stdoutLimit: Int) -> Bool {
        let key = FunctionRunner.poolKey(spec)
        guard ready.withLock({ $0[key] == nil }), budget.take() else { return false }
        guard
            let made = try? launcher.start(
                spec, stdoutLimit: stdoutLimit, standby: true,
                program: { code, _ in
                    [code + "/" + spec.manifest.handler]
                })
        else {
            budget.give()
            return false
        }
        ready.withLock { $0[key] = (made, spec, .now) }
        return true
    }

    /// Ends the standbys of versions no longer current, and those unused for `ttl`. A replaced version's
    /// successor gets a standby ahead of its first invocation.
    func retire(ttl: Duration, running: (String) -> [FunctionSpec]) async {
        let cutoff = ContinuousClock.now - ttl
        let stale = ready.withLock { ready in
            let keys = ready.filter { key, entry in
                entry.since < cutoff || !running(entry.spec.name).map(FunctionRunner.poolKey).contains(key)
            }.keys
            return keys.compactMap { ready.removeValue(forKey: $0) }
        }
        for entry in stale {
            budget.give()
            await entry.process.terminateGroup(grace: .zero)
            if let successor = running(entry.spec.name).first(where: {
                FunctionRunner.poolKey($0) != FunctionRunner.poolKey(entry.spec)
            }), successor.manifest.runtime == .exec {
                replenish(successor, stdoutLimit: FunctionRunner.maxExecOutputBytes)
            }
        }
    }

    /// Ends every standby and makes no more (one being made as this runs is killed once made).
    func shutdown() async {
        closed.store(true, ordering: .relaxed)
        await retire(ttl: .zero) { _ in [] }
    }
}
