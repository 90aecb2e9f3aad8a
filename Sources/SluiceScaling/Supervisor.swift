import Foundation
import Logging
import SluiceAutoscaler
import SluiceKafka
import SluiceLag
import SluiceSupport

/// Scales a pool of `sluice worker` processes from Kafka signals. Every second it takes the workers'
/// group lag on the invocations topic and the arrival rate (the lag engine) and the workers' load samples
/// (`sluice.scaling`: in flight, queued, per function, partitions held by a record in retry), then:
/// - the `Autoscaler` decides the number of worker processes, which it starts or stops;
/// - a `FunctionScaler` per function decides its warm processes and concurrency per worker, which the
///   workers apply.
/// Every decision is a Scaling Event on `sluice.scaling`.
public final class Supervisor: Sendable {
    public struct Configuration: Sendable {
        public var connection: KafkaConnection
        /// The pool's name in Scaling Events (`function_id`).
        public var poolID = "pool:sluice-workers"
        public var workerGroup = "sluice-workers"
        public var invocationsTopic = "sluice.invocations"
        public var scalingTopic = "sluice.scaling"
        public var policy = Autoscaler.Policy()
        public var functionPolicy = FunctionScaler.Policy()
        public var initialWorkers = 1
        /// The `sluice` executable and the arguments every worker gets (beyond `worker --id`).
        public var executable: String
        public var workerArguments: [String] = []
        /// Called with a line per decision (the command prints them).
        public var report: (@Sendable (String) -> Void)?
        /// Workers serve `/metrics` on this port + their slot (0, 1, … the lowest free); nil: no metrics.
        public var metricsPortBase: Int?
        public var logDirectory: URL

        public init(connection: KafkaConnection, executable: String, logDirectory: URL) {
            self.connection = connection
            self.executable = executable
            self.logDirectory = logDirectory
        }
    }

    let configuration: Configuration
    let logger: Logger

    public init(configuration: Configuration, logger: Logger = Logger(label: "sluice.supervisor")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs until cancelled; stops its workers on the way out.
    public func run() async throws {
        let roster = WorkerRoster()
        try await roster.start(connection: configuration.connection, topic: configuration.scalingTopic, logger: logger)
        var lagOptions = LagEngine.Options()
        lagOptions.groups = [configuration.workerGroup]
        lagOptions.roster = roster
        let engine = try LagEngine(connection: configuration.connection, options: lagOptions, logger: logger)
        let producer = try KafkaProducer.make(ProducerConfiguration(connection: configuration.connection), logger: logger)
        var scaler = Autoscaler(functionID: configuration.poolID, policy: configuration.policy, workers: configuration.initialWorkers)
        var functionScalers: [String: FunctionScaler] = [:]
        var meanDurations: [String: Double] = [:]
        var workers: [(id: String, pid: pid_t, slot: Int, since: ContinuousClock.Instant)] = []
        // A worker that exits on its own is replaced; one that keeps exiting soon after start is
        // replaced less and less often (1 s, doubling to 60 s).
        var restartBackoff = Duration.seconds(1)
        var nextRestart = ContinuousClock.now
        var started = 0
        let start = ContinuousClock.now
        func resize(to count: Int) {
            while workers.count < count {
                started += 1
                let id = "\(configuration.poolID.replacingOccurrences(of: ":", with: "-"))-\(started)"
                let log = configuration.logDirectory.appendingPathComponent("\(id).log")
                let slot = (0...).first { slot in !workers.contains { $0.slot == slot } }!
                let metrics = configuration.metricsPortBase.map { ["--metrics-port", String($0 + slot)] } ?? []
                do {
                    let pid = try ChildProcess.spawn(
                        configuration.executable, ["worker", "--id", id] + metrics + configuration.workerArguments, logFile: log, lifetime: .tiedToParent)
                    workers.append((id, pid, slot, .now))
                    logger.info("worker started", metadata: ["worker": "\(id)", "pid": "\(pid)"])
                } catch {
                    logger.error("cannot start a worker", metadata: ["error": "\(error)"])
                    return
                }
            }
            while workers.count > count, let last = workers.popLast() {
                // SIGTERM: it finishes what runs and commits; the rest goes to the others.
                Task { await ChildProcess.terminate(last.pid, graceSeconds: 15) }
                logger.info("worker stopping", metadata: ["worker": "\(last.id)"])
            }
        }
        resize(to: configuration.initialWorkers)
        func publish(_ event: ScalingEvent) async {
            var event = event
            event.workerGroup = configuration.workerGroup
            let value = (try? JSONEncoder().encode(event)).map { Array($0) }
            _ = try? await producer.send(ProducerRecord(topic: configuration.scalingTopic, key: Array(event.functionID.utf8), value: value))
            configuration.report?(
                "\(event.timestamp) \(event.functionID): \(event.eventType.rawValue) \(event.instancesBefore) -> \(event.instancesAfter)"
                    + (event.functionID == configuration.poolID ? " workers" : " warm processes (\(event.warmProcesses) per worker)") + ", \(event.reason)")
            logger.info("scaling", metadata: [
                "function_id": "\(event.functionID)", "event": "\(event.eventType.rawValue)", "from": "\(event.instancesBefore)",
                "to": "\(event.instancesAfter)", "warm_processes": "\(event.warmProcesses)", "reason": "\(event.reason)",
            ])
        }
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            let exited = workers.filter { !ChildProcess.isAlive($0.pid) }
            if !exited.isEmpty {
                workers.removeAll { worker in exited.contains { $0.pid == worker.pid } }
                let soon = exited.contains { ContinuousClock.now - $0.since < .seconds(10) }
                restartBackoff = soon ? min(restartBackoff * 2, .seconds(60)) : .seconds(1)
                nextRestart = ContinuousClock.now + restartBackoff
                for worker in exited {
                    let log = configuration.logDirectory.appendingPathComponent("\(worker.id).log").path
                    logger.error("a worker exited", metadata: ["worker": "\(worker.id)", "log": "\(log)"])
                    configuration.report?("worker \(worker.id) exited (see \(log)); next start in \(Int(restartBackoff / .seconds(1))) s")
                }
            }
            if workers.count < scaler.workers, ContinuousClock.now >= nextRestart { resize(to: scaler.workers) }
            guard let group = try? await engine.sample().first(where: { $0.group == configuration.workerGroup }) else { continue }
            let time = (ContinuousClock.now - start) / .seconds(1)
            let samples = await roster.samples(group: configuration.workerGroup)
            let partitions = group.partitions.filter { $0.topic == configuration.invocationsTopic }
            let held = Set(samples.flatMap(\.partitions).filter { $0.topic == configuration.invocationsTopic && $0.heldByRetry }.map(\.partition))
            let signal = LoadSignal(
                time: time, lagByPartition: Dictionary(uniqueKeysWithValues: partitions.map { ($0.partition, $0.lag) }), heldByRetry: held,
                arrivalRate: partitions.reduce(0) { $0 + $1.produceRate }, inFlight: samples.reduce(0) { $0 + $1.inFlight },
                consumeRate: partitions.reduce(0) { $0 + $1.consumeRate })
            if let event = scaler.observe(signal) {
                await publish(event)
                resize(to: event.instancesAfter)
            }
            // Per function, from the samples of the workers alive now.
            let queued = samples.reduce(0) { $0 + $1.queued }
            var loads: [String: (invocationsPerSecond: Double, durationMsSum: Double, invocations: Int, inFlight: Int)] = [:]
            for sample in samples {
                for (function, load) in sample.functions {
                    var total = loads[function] ?? (0, 0, 0, 0)
                    total.invocationsPerSecond += Double(load.invocations) / max(sample.intervalSeconds, 0.1)
                    total.durationMsSum += load.durationMsSum
                    total.invocations += load.invocations
                    total.inFlight += load.inFlight
                    loads[function] = total
                }
            }
            for function in Set(loads.keys).union(functionScalers.keys).sorted() {
                let load = loads[function] ?? (0, 0, 0, 0)
                if load.invocations > 0 { meanDurations[function] = load.durationMsSum / Double(load.invocations) }
                var functionScaler = functionScalers[function] ?? FunctionScaler(functionID: function, policy: configuration.functionPolicy)
                let functionSignal = FunctionSignal(
                    time: time, invocationsPerSecond: load.invocationsPerSecond, meanDurationMs: meanDurations[function] ?? 0,
                    inFlight: load.inFlight, queued: queued)
                if let event = functionScaler.observe(functionSignal, workers: max(scaler.workers, 1)) { await publish(event) }
                functionScalers[function] = functionScaler
            }
        }
        // Stopped: the workers finish what they run and commit before this returns.
        await withTaskGroup(of: Void.self) { group in
            for worker in workers { group.addTask { await ChildProcess.terminate(worker.pid, graceSeconds: 15) } }
        }
        await producer.close()
        await engine.close()
        await roster.close()
    }
}
