import Foundation
import SluiceFunctions

/// Warm `python3` processes of one function version (never shared across versions or tenants): idle
/// ones are reused, a crashed or timed-out one is discarded and replaced on demand, and idle ones past
/// the TTL are retired down to the floor: `min_warm`, or the autoscaler's target when that is higher.
actor WarmPool {
    let spec: FunctionSpec
    private let launcher: ProcessLauncher
    private var idle: [(process: PythonProcess, since: ContinuousClock.Instant)] = []
    private var busy = 0
    /// Warm processes the autoscaler wants kept (per worker); nil until it decides.
    private var target: Int?

    private var floor: Int { max(spec.manifest.minWarm, target ?? 0) }

    init(spec: FunctionSpec, launcher: ProcessLauncher) {
        self.spec = spec
        self.launcher = launcher
    }

    var warmCount: Int { idle.count + busy }

    /// A process to run one invocation on; `cold` when it had to be started for it.
    func acquire() async throws -> (process: PythonProcess, cold: Bool) {
        while let (process, _) = idle.popLast() {
            if process.process.exitStatus == nil {
                busy += 1
                return (process, false)
            }
        }
        busy += 1
        do {
            let process = try await PythonProcess.start(spec: spec, launcher: launcher, timeout: startTimeout)
            return (process, true)
        } catch {
            busy -= 1
            throw error
        }
    }

    /// Returns a process after an invocation; an unhealthy one is killed instead.
    func release(_ process: PythonProcess, healthy: Bool) async {
        busy -= 1
        if healthy && process.process.exitStatus == nil && process.leftNothingBehind {
            idle.append((process, .now))
        } else {
            await process.process.terminateGroup(grace: .milliseconds(200))
        }
    }

    /// Starts processes until the floor is warm.
    func prewarm() async {
        while warmCount < floor {
            guard let process = try? await PythonProcess.start(spec: spec, launcher: launcher, timeout: startTimeout)
            else { return }
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
