import Foundation
import SluiceFunctions

#if canImport(Glibc)
    import Glibc
#endif

extension FunctionRunner {
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

        /// `apply` for the outcomes of one batch: each gets an equal share of the CPU and the batch's memory
        /// peak; the sandbox's verdicts go to the invocations that failed (to every one of a batch of one).
        func apply(to outcomes: inout [InvocationOutcome], process: FunctionProcess, spec: FunctionSpec) {
            let share = max(0, process.cpuTimeMs() - cpuMs) / Double(max(outcomes.count, 1))
            for index in outcomes.indices where outcomes.count == 1 || outcomes[index].status != .success {
                apply(to: &outcomes[index], process: process, spec: spec)
            }
            for index in outcomes.indices where outcomes[index].status != .oom {
                outcomes[index].cpuMsUsed = share
                outcomes[index].memoryUsedMB = max(0, process.peakMemoryMB() - Double(memoryBytes) / 1_048_576)
            }
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
}
