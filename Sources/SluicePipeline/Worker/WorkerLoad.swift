import Metrics
import SluiceRecords
import Synchronization

/// What a worker is doing now, for its load samples and gauges: records taken and running, per function
/// what runs and what ended since the last sample, and partitions held by a record in retry.
final class WorkerLoad: Sendable {
    private let inFlight = Atomic<Int>(0)
    /// Records taken from the invocations topic and not finished (queued or running).
    private let taken = Atomic<Int>(0)
    /// Per function: running now, and ended since the last load sample (count, summed ms).
    private let functions = Mutex<[String: LoadSample.FunctionLoad]>([:])
    /// Partitions with a key (or the whole partition) waiting for a record in retry: how many holds.
    private let heldByRetry = Mutex<[TopicPartition: Int]>([:])
    private let inFlightGauge = Gauge(label: "sluice_invocations_in_flight")

    func took() { taken.add(1, ordering: .relaxed) }
    func untook() { taken.subtract(1, ordering: .relaxed) }

    /// An invocation of `function` starts; pass the result to `ended`.
    func started(_ function: String) -> ContinuousClock.Instant {
        inFlight.add(1, ordering: .relaxed)
        inFlightGauge.record(inFlight.load(ordering: .relaxed))
        functions.withLock { $0[function, default: .init()].inFlight += 1 }
        return .now
    }

    func ended(_ function: String, since start: ContinuousClock.Instant) {
        inFlight.subtract(1, ordering: .relaxed)
        inFlightGauge.record(inFlight.load(ordering: .relaxed))
        let ms = (ContinuousClock.now - start) / .milliseconds(1)
        functions.withLock { load in
            load[function, default: .init()].inFlight -= 1
            load[function, default: .init()].invocations += 1
            load[function, default: .init()].durationMsSum += ms
        }
    }

    func hold(_ partition: TopicPartition) {
        heldByRetry.withLock { $0[partition, default: 0] += 1 }
    }

    func release(_ partition: TopicPartition) {
        heldByRetry.withLock { held in
            held[partition, default: 1] -= 1
            if held[partition] == 0 { held[partition] = nil }
        }
    }

    /// Running now, and taken but not started.
    var counts: (running: Int, queued: Int) {
        let running = inFlight.load(ordering: .relaxed)
        return (running, max(0, taken.load(ordering: .relaxed) - running))
    }

    var heldPartitions: Set<TopicPartition> { heldByRetry.withLock { Set($0.keys) } }

    /// Per function since the last call: what runs now and what ended (the ended counts restart at 0).
    func takeFunctionLoads() -> [String: LoadSample.FunctionLoad] {
        functions.withLock { load in
            defer {
                for name in load.keys {
                    load[name]?.invocations = 0
                    load[name]?.durationMsSum = 0
                }
            }
            return load
        }
    }
}
