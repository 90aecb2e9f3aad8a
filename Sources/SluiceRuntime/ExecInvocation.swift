import Foundation
import SluiceFunctions
import SluiceSandbox
import SluiceSupport

/// `exec` invocations: one process per invocation (a standby sandbox when one is ready), its event on
/// stdin, its output as the result.
extension FunctionRunner {
    func invokeExec(_ spec: FunctionSpec, _ input: InvocationInput) async -> InvocationOutcome {
        let process: FunctionProcess
        let standby = execStandbys.take(spec)
        do {
            process =
                try standby
                ?? launcher.start(spec, stdoutLimit: Self.maxExecOutputBytes) { code, _ in
                    [code + "/" + spec.manifest.handler]
                }
        } catch let refusal as SandboxRefusal {
            var outcome = InvocationOutcome(status: .sandbox, error: refusal.message)
            outcome.retryable = false
            return outcome
        } catch {
            return InvocationOutcome(status: .crash, error: "\(error)")
        }
        // The next invocation of this version finds a sandbox made ahead, made while this one runs.
        execStandbys.replenish(spec, stdoutLimit: Self.maxExecOutputBytes)
        var outcome = await bounded(spec, process: process) {
            try? await process.write((standby == nil ? [] : ExecStandbys.go) + (input.event ?? []))
            process.closeStdin()
            let output = await process.stdout.wait { bytes, end in end == nil ? nil : bytes }
            let exit = await process.waitForExit()
            if process.stdout.overflowed {
                var outcome = InvocationOutcome(
                    status: .error,
                    error:
                        "\(spec.manifest.handler) wrote more than \(Self.maxExecOutputBytes) bytes to its output; killed"
                )
                outcome.retryable = false
                return outcome
            }
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
        outcome.standbyStart = standby != nil
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
    func bounded(
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

    /// The most an `exec` function may write to its output (a result holds at most 900 KB of it); more
    /// kills it and ends the invocation as an error that is not retried.
    static let maxExecOutputBytes = 1 << 20

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
