import SluiceFunctions
import Synchronization

extension FunctionRunner {
    /// Takes `count` replies in order, each within `timeout_seconds` of the one before (of the frame, for
    /// the first); stops at a timeout (the process group is ended) or when the process dies.
    ///
    /// One watchdog for the whole batch, not a timer per reply: replies already buffered are taken
    /// without suspending, where a timer per reply cost two task hops each — about a millisecond per
    /// reply on a busy worker, most of a batch's time.
    func takeReplies(_ spec: FunctionSpec, python: PythonProcess, count: Int) async -> [InvocationOutcome] {
        let timeout = Duration.milliseconds(Int(spec.manifest.timeoutSeconds * 1000))
        let watch = ReplyWatch(deadline: .now + timeout)
        return await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // Sleeps to the current deadline; ends the process group once a reply is late.
                while let deadline = watch.pendingDeadline {
                    if ContinuousClock.now >= deadline {
                        if watch.expire() {
                            await python.process.terminateGroup(grace: self.killGrace)
                            return
                        }
                        continue  // a reply came first and moved the deadline
                    }
                    do { try await Task.sleep(until: deadline) } catch { return }
                }
            }
            var outcomes: [InvocationOutcome] = []
            var last = ContinuousClock.now
            for _ in 0..<count {
                var outcome = await python.nextOutcome()
                let now = ContinuousClock.now
                if !watch.replied(nextDeadline: now + timeout) {
                    outcome = InvocationOutcome(
                        status: .timeout,
                        error: "timed out after \(spec.manifest.timeoutSeconds) s; process group killed")
                    outcome.retryable = true
                }
                outcome.durationMs = (now - last) / .milliseconds(1)
                last = now
                outcomes.append(outcome)
                // A flood is the reply that overflowed; the process is gone, and the rest did not run.
                if outcome.status == .timeout || outcome.status == .crash || python.process.stdout.overflowed { break }
            }
            watch.finish()
            group.cancelAll()
            return outcomes
        }
    }
}

/// The deadline of a batch's next reply, shared by the reader and its watchdog: whichever comes first —
/// the reply or the deadline — decides the reply's fate.
private final class ReplyWatch: Sendable {
    private struct State {
        var deadline: ContinuousClock.Instant
        var expired = false
        var finished = false
    }
    private let state: Mutex<State>

    init(deadline: ContinuousClock.Instant) {
        state = Mutex(State(deadline: deadline))
    }

    /// The deadline to wait for; nil once the batch finished or a reply was late.
    var pendingDeadline: ContinuousClock.Instant? {
        state.withLock { $0.finished || $0.expired ? nil : $0.deadline }
    }

    /// The watchdog found the deadline passed: true when no reply came first (the reply is late).
    func expire() -> Bool {
        state.withLock { state in
            guard !state.finished, !state.expired, ContinuousClock.now >= state.deadline else { return false }
            state.expired = true
            return true
        }
    }

    /// A reply arrived: false when it was already late (the process was being ended); else the next
    /// reply's deadline is set.
    func replied(nextDeadline: ContinuousClock.Instant) -> Bool {
        state.withLock { state in
            if state.expired { return false }
            state.deadline = nextDeadline
            return true
        }
    }

    func finish() {
        state.withLock { $0.finished = true }
    }
}
