import Foundation
import SluiceRecords

/// One function's load across the worker pool at one moment, summed from the workers' load samples.
public struct FunctionSignal: Sendable, Hashable {
    /// Seconds since some fixed start (the caller's clock).
    public var time: Double
    /// Invocations ended per second.
    public var invocationsPerSecond: Double
    public var meanDurationMs: Double
    /// Invocations running now.
    public var inFlight: Int
    /// Records of the pool waiting to start (not per function: workers queue records before they know
    /// their function's slot).
    public var queued: Int
    /// Records of the pool's topic not yet consumed (its lag, not held by a retry). A pool with a
    /// backlog is not idle even when nothing ran for a while (a rebalance stops every worker for seconds).
    public var backlog: Int64

    public init(
        time: Double, invocationsPerSecond: Double, meanDurationMs: Double, inFlight: Int, queued: Int,
        backlog: Int64 = 0
    ) {
        self.time = time
        self.invocationsPerSecond = invocationsPerSecond
        self.meanDurationMs = meanDurationMs
        self.inFlight = inFlight
        self.queued = queued
        self.backlog = backlog
    }

    var busy: Bool { invocationsPerSecond > 0 || inFlight > 0 || backlog > 0 }
}

/// Decides one function's warm processes and concurrency per worker (docs/architecture.md, "Autoscaling"):
/// - **Instances** (warm processes across the pool) = the invocations it runs at once — the larger of
///   those in flight and rate × mean duration (Little's law) — plus a burst reserve per worker.
/// - **Up at once**, **down** only when every wish over the stabilization window is lower and not within
///   the cooldown, **to zero** after the idle period (no invocations, nothing in flight).
/// - **Concurrency** per worker = its share of instances. While records queue, and for the stabilization
///   window after, it is the function's `max_concurrency` (nil), so a limit never holds back a backlog;
///   a change of concurrency alone is a decision too.
public struct FunctionScaler: Sendable {
    public struct Policy: Sendable, Hashable {
        public var burstReserve = 1
        public var scaleDownWindowSeconds = 30.0
        public var cooldownSeconds = 15.0
        public var idleSecondsBeforeZero = 60.0
        public init() {}
    }

    public let functionID: String
    public let policy: Policy
    public private(set) var instances: Int
    public private(set) var concurrency: Int?
    private var lastQueued: Double?
    private var history: [(time: Double, instances: Int)] = []
    private var lastChange = -Double.infinity
    private var lastBusy: Double?
    private var sequence = 0

    public init(functionID: String, policy: Policy = Policy(), instances: Int = 0) {
        self.functionID = functionID
        self.policy = policy
        self.instances = instances
    }

    /// Instances the signal alone asks for, with `workers` worker processes.
    public func desired(_ signal: FunctionSignal, workers: Int) -> Int {
        guard signal.busy, workers > 0 else { return 0 }
        let running = max(Double(signal.inFlight), signal.invocationsPerSecond * signal.meanDurationMs / 1000)
        return max(1, Int(running.rounded(.up))) + policy.burstReserve * workers
    }

    /// Instances a predicted rate (invocations per second, `DemandForecast.peakRate`) asks for: the same
    /// rule as `desired`, with the last known mean duration.
    public func predicted(rate: Double, meanDurationMs: Double, workers: Int) -> Int {
        guard rate >= 0.01, rate.isFinite, workers > 0 else { return 0 }
        let running = rate * max(0, meanDurationMs) / 1000
        return max(1, Int(min(running, 1_000_000).rounded(.up))) + policy.burstReserve * workers
    }

    /// Takes one signal; returns a decision when the instance count changes. `predictedInstances`: what
    /// the function's forecast asks for ahead of demand (0: nothing, or prediction off): instances go up
    /// to it at once (reason `predicted_demand`), and not down or to zero below it.
    public mutating func observe(
        _ signal: FunctionSignal, workers: Int, predictedInstances: Int = 0, now: Date = Date()
    ) -> ScalingEvent? {
        let reactive = desired(signal, workers: workers)
        let wanted = max(reactive, predictedInstances)
        history.append((signal.time, wanted))
        history.removeAll { signal.time - $0.time > policy.scaleDownWindowSeconds }
        if signal.busy || lastBusy == nil { lastBusy = signal.time }
        if signal.queued > 0 { lastQueued = signal.time }

        var target = instances
        var reason = ""
        if wanted > instances {
            target = wanted
            reason =
                predictedInstances > reactive
                ? "predicted_demand"
                : "in_flight_\(signal.inFlight)_rate_\(Int(signal.invocationsPerSecond))_per_s"
        } else if !signal.busy, predictedInstances == 0, instances > 0, let lastBusy,
            signal.time - lastBusy >= policy.idleSecondsBeforeZero
        {
            target = 0
            reason = "idle_\(Int(signal.time - lastBusy))_s"
        } else if wanted < instances, wanted > 0, signal.time - lastChange >= policy.cooldownSeconds,
            let oldest = history.first, signal.time - oldest.time >= policy.scaleDownWindowSeconds * 0.9
        {
            let stable = history.map(\.instances).max() ?? instances
            if stable < instances {
                target = stable
                reason = "load_below_instances_for_\(Int(policy.scaleDownWindowSeconds))_s"
            }
        }
        let perWorker = workers > 0 ? (target + workers - 1) / workers : 0
        let queuedLately = lastQueued.map { signal.time - $0 < policy.scaleDownWindowSeconds } ?? false
        let newConcurrency = target == 0 || queuedLately ? nil : max(1, perWorker)
        guard target != instances || newConcurrency != concurrency else { return nil }
        if target == instances {
            reason = newConcurrency == nil ? "records_queued" : "no_queue_for_\(Int(policy.scaleDownWindowSeconds))_s"
        }
        sequence += 1
        let up = target > instances || (target == instances && newConcurrency == nil)
        var event = ScalingEvent(
            eventID: "scale_\(functionID)_\(Int(signal.time * 1000))_\(sequence)", functionID: functionID,
            eventType: up ? .scaleUp : target == 0 ? .scaleToZero : .scaleDown, reason: reason,
            instancesBefore: instances, instancesAfter: target, timestamp: ISO8601DateFormatter().string(from: now),
            autoscalerVersion: Autoscaler.version, warmProcesses: perWorker)
        event.concurrency = newConcurrency
        concurrency = newConcurrency
        instances = target
        lastChange = signal.time
        return event
    }
}
