import SluiceFunctions
import SluiceRuntime
import Synchronization

/// Per function version, how many of its processes a worker runs at once: the autoscaler's latest
/// decision, never above `max_concurrency` (which applies alone until a decision arrives). The
/// semaphore admits the invocations in flight that allows (`FunctionRunner.invocationsInFlight`:
/// python3 invocations beyond the processes wait for one and go to it in batches).
final class FunctionConcurrency: Sendable {
    private let slots = Mutex<[String: AsyncSemaphore]>([:])
    /// The autoscaler's latest concurrency per function (nil: `max_concurrency`).
    private let decided = Mutex<[String: Int?]>([:])

    /// The semaphore of the function's version (made at its first invocation).
    func slots(for spec: FunctionSpec) -> AsyncSemaphore {
        let decided = decided.withLock { $0[spec.name] ?? nil }
        return slots.withLock { slots in
            if let existing = slots[Self.key(spec)] { return existing }
            let semaphore = AsyncSemaphore(
                permits: FunctionRunner.invocationsInFlight(spec, processes: Self.limit(spec, decided: decided)))
            slots[Self.key(spec)] = semaphore
            return semaphore
        }
    }

    /// Applies a decision; returns the limit now in force.
    @discardableResult
    func apply(_ concurrency: Int?, to spec: FunctionSpec) -> Int {
        decided.withLock { $0[spec.name] = concurrency }
        let limit = Self.limit(spec, decided: concurrency)
        slots.withLock { $0[Self.key(spec)] }?.setPermits(FunctionRunner.invocationsInFlight(spec, processes: limit))
        return limit
    }

    /// The function's process limit now in force.
    func processes(for spec: FunctionSpec) -> Int {
        Self.limit(spec, decided: decided.withLock { $0[spec.name] ?? nil })
    }

    /// Within 1 … `max_concurrency`, whatever a decision on the topic says.
    static func limit(_ spec: FunctionSpec, decided: Int?) -> Int {
        max(1, min(spec.manifest.maxConcurrency, decided ?? spec.manifest.maxConcurrency))
    }

    private static func key(_ spec: FunctionSpec) -> String { "\(spec.name)@\(spec.version)" }
}
