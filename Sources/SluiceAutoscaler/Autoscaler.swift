import Foundation
import SluiceRecords

/// What the autoscaler knows of one function at one moment: the workers' load samples and the lag
/// engine's view of its partitions, reduced to numbers.
public struct LoadSignal: Sendable, Hashable {
    /// Seconds since some fixed start (the caller's clock).
    public var time: Double
    /// Records waiting, per invocations partition.
    public var lagByPartition: [Int32: Int64]
    /// Partitions whose lag comes from one record held in retry (its key waits for it): not backlog that
    /// more workers could drain.
    public var heldByRetry: Set<Int32>
    /// Records arriving per second.
    public var arrivalRate: Double
    /// Invocations running now.
    public var inFlight: Int
    /// Records the workers finished (committed) per second.
    public var consumeRate: Double

    public init(
        time: Double, lagByPartition: [Int32: Int64], heldByRetry: Set<Int32> = [], arrivalRate: Double, inFlight: Int,
        consumeRate: Double = 0
    ) {
        self.time = time
        self.lagByPartition = lagByPartition
        self.heldByRetry = heldByRetry
        self.arrivalRate = arrivalRate
        self.inFlight = inFlight
        self.consumeRate = consumeRate
    }

    /// The backlog more workers can drain.
    public var backlog: Int64 {
        lagByPartition.filter { !heldByRetry.contains($0.key) }.values.reduce(0, +)
    }
}

/// The autoscaler's rule, as pure logic over load signals (docs/architecture.md, "Autoscaling"):
/// - **Up, at once**: workers = ceil((backlog / drain target + arrival rate) / per-worker throughput),
///   never more than the partitions; a rise is decided on the first signal that shows it.
/// - **Per-worker throughput** is measured: while a backlog waits, the workers are saturated, so the
///   rate they finish records at divided by their number is what one worker does (measured only once
///   the cooldown after a change has passed: new workers take seconds to join). The policy's figure is
///   the ceiling and the value until a measurement exists.
/// - **Down, slowly**: only when every desired count over the stabilization window is lower, and not
///   within the cooldown after a change — so load that oscillates does not make it flap.
/// - **To zero** after no arrivals, no backlog and nothing in flight for the idle period.
/// - **Poison lag** (a partition held by a record in retry) is not backlog: more workers cannot drain it.
/// - **Warm processes**: enough for the arrivals of one cold start, plus a burst reserve.
public struct Autoscaler: Sendable {
    public struct Policy: Sendable, Hashable {
        /// Records per second one worker process handles.
        public var perWorkerThroughput = 1000.0
        /// Seconds within which a backlog should drain.
        public var drainTargetSeconds = 10.0
        public var minWorkers = 0
        /// At most this many (and never more than the partitions).
        public var maxWorkers = 6
        public var partitions = 6
        public var scaleDownWindowSeconds = 30.0
        public var cooldownSeconds = 15.0
        public var idleSecondsBeforeZero = 60.0
        /// Seconds a cold start takes (sizing the warm pool).
        public var coldStartSeconds = 0.05
        /// Warm processes kept beyond what the arrival rate needs.
        public var burstReserve = 2
        public init() {}
    }

    public static let version = "sluice-autoscaler-1"

    public let functionID: String
    public let policy: Policy
    public private(set) var workers: Int
    private var desiredHistory: [(time: Double, workers: Int)] = []
    private var lastChange: Double = -.infinity
    private var lastBusy: Double?
    private var sequence = 0
    /// Records per second one worker was measured to finish under backlog.
    public private(set) var measuredThroughput: Double?

    public init(functionID: String, policy: Policy = Policy(), workers: Int) {
        self.functionID = functionID
        self.policy = policy
        self.workers = workers
    }

    /// The worker count the signal alone asks for.
    public func desired(_ signal: LoadSignal) -> Int {
        let demand = Double(signal.backlog) / policy.drainTargetSeconds + signal.arrivalRate
        let throughput = min(policy.perWorkerThroughput, measuredThroughput ?? policy.perWorkerThroughput)
        var wanted = Int((demand / throughput).rounded(.up))
        if wanted == 0, signal.inFlight > 0 || signal.backlog > 0 { wanted = 1 }
        return min(max(wanted, policy.minWorkers), min(policy.maxWorkers, policy.partitions))
    }

    /// Warm processes per worker for the signal.
    public func warmProcesses(_ signal: LoadSignal, workers: Int) -> Int {
        guard workers > 0 else { return 0 }
        return Int((signal.arrivalRate * policy.coldStartSeconds / Double(workers)).rounded(.up)) + policy.burstReserve
    }

    /// Takes one signal; returns a decision when the worker count changes.
    public mutating func observe(_ signal: LoadSignal, now: Date = Date()) -> ScalingEvent? {
        if signal.backlog > 0, signal.consumeRate > 0, workers > 0, signal.time - lastChange >= policy.cooldownSeconds {
            measuredThroughput = signal.consumeRate / Double(workers)
        }
        let wanted = desired(signal)
        desiredHistory.append((signal.time, wanted))
        desiredHistory.removeAll { signal.time - $0.time > policy.scaleDownWindowSeconds }
        let busy = signal.arrivalRate > 0 || signal.backlog > 0 || signal.inFlight > 0
        if busy || lastBusy == nil { lastBusy = signal.time }

        var target = workers
        var reason = ""
        if wanted > workers {
            target = wanted
            reason =
                signal.backlog > 0
                ? "backlog_\(signal.backlog)_records" : "arrival_rate_\(Int(signal.arrivalRate))_per_s"
        } else if !busy, workers > 0, let lastBusy, signal.time - lastBusy >= policy.idleSecondsBeforeZero {
            target = max(0, policy.minWorkers)
            reason = "idle_\(Int(signal.time - lastBusy))_s"
        } else if wanted < workers, signal.time - lastChange >= policy.cooldownSeconds,
            let oldest = desiredHistory.first, signal.time - oldest.time >= policy.scaleDownWindowSeconds * 0.9
        {
            // The highest wish over the whole window: a dip in oscillating load does not count.
            // Never to zero this way: zero only after the idle period.
            let stable = max(desiredHistory.map(\.workers).max() ?? workers, 1)
            if stable < workers {
                target = stable
                reason = "load_below_capacity_for_\(Int(policy.scaleDownWindowSeconds))_s"
            }
        }
        guard target != workers else { return nil }
        sequence += 1
        let event = ScalingEvent(
            eventID: "scale_\(functionID)_\(Int(signal.time * 1000))_\(sequence)", functionID: functionID,
            eventType: target > workers ? .scaleUp : target == 0 ? .scaleToZero : .scaleDown, reason: reason,
            instancesBefore: workers,
            instancesAfter: target, timestamp: ISO8601DateFormatter().string(from: now),
            autoscalerVersion: Self.version,
            warmProcesses: warmProcesses(signal, workers: target))
        workers = target
        lastChange = signal.time
        return event
    }
}
