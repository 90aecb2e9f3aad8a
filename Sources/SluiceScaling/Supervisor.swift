import Foundation
import Logging
import ServiceLifecycle
import SluiceAutoscaler
import SluiceKafka
import SluiceLag
import SluiceRecords
import SluiceRegistry
import SluiceSupport
import Synchronization

/// Scales a pool of `sluice worker` processes from Kafka signals. Every second it takes the workers'
/// group lag on the invocations topic and the arrival rate (the lag engine) and the workers' load samples
/// (`sluice.scaling`: in flight, queued, per function, partitions held by a record in retry), then:
/// - the `Autoscaler` decides the number of worker processes, which it starts or stops (the
///   `SupervisorStateMachine` keeps the books; this drives it);
/// - a `FunctionScaler` per function decides its warm processes and concurrency per worker, which the
///   workers apply.
/// Every decision is a Scaling Event on `sluice.scaling`.
///
/// A `Service`: a graceful shutdown (or cancellation) stops the loop and terminates the workers, which
/// finish what they run and commit.
public final class Supervisor: Service, Sendable {
    public struct Configuration: Sendable {
        public var connection: KafkaConnection
        /// The pool's name in Scaling Events (`function_id`).
        public var poolID = "pool:sluice-workers"
        public var workerGroup = "sluice-workers"
        /// The platform topics (`invocations` watched, `scaling` followed and written).
        public var topics = PlatformTopics.standard
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
        /// How long a stopped worker gets to finish before SIGKILL.
        public var workerGrace: Double = 15
        /// Predictive pre-warming (docs/architecture.md): each function's demand learned from the invocation
        /// log, warm processes decided ahead of it. nil: off. A manifest's `predictive_prewarm: false`
        /// turns it off for that function.
        public var prediction: DemandForecast.Settings?

        public init(connection: KafkaConnection, executable: String, logDirectory: URL) {
            self.connection = connection
            self.executable = executable
            self.logDirectory = logDirectory
        }
    }

    let configuration: Configuration
    let logger: Logger
    private let stopping = Atomic<Bool>(false)

    public init(configuration: Configuration, logger: Logger = Logger(label: "sluice.supervisor")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs until a graceful shutdown or cancellation; stops its workers on the way out.
    public func run() async throws {
        let roster = WorkerRoster()
        try await roster.start(
            connection: configuration.connection, topic: configuration.topics.scaling, logger: logger)
        var lagOptions = LagEngine.Options()
        lagOptions.groups = [configuration.workerGroup]
        lagOptions.roster = roster
        let engine = try LagEngine(connection: configuration.connection, options: lagOptions, logger: logger)
        let producer = try KafkaProducer.make(
            ProducerConfiguration(connection: configuration.connection), logger: logger)
        let decisions = ScalingEventPublisher(configuration: configuration, producer: producer, logger: logger)
        let demand = await DemandSources.open(configuration, logger: logger)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { terminations in
                demand?.start(in: &terminations)
                await loop(
                    engine: engine, roster: roster, decisions: decisions, demand: demand, terminations: &terminations)
            }
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
            demand?.finish()
        }
        await demand?.close()
        await producer.close()
        await engine.close()
        await roster.close()
    }

    private func loop(
        engine: LagEngine, roster: WorkerRoster, decisions: ScalingEventPublisher, demand: DemandSources?,
        terminations: inout DiscardingTaskGroup
    ) async {
        var machine = SupervisorStateMachine(poolID: configuration.poolID, initialWorkers: configuration.initialWorkers)
        var scaler = Autoscaler(
            functionID: configuration.poolID, policy: configuration.policy, workers: configuration.initialWorkers)
        var functions = FunctionScalers(policy: configuration.functionPolicy)
        let start = ContinuousClock.now
        func now() -> Double { (ContinuousClock.now - start) / .seconds(1) }
        carryOut(machine.tick(now: now()), on: &machine, terminations: &terminations)
        while !Task.isCancelled, !stopping.load(ordering: .relaxed) {
            try? await Task.sleep(for: .seconds(1))
            let exited = Set(machine.workers.filter { $0.pid != 0 && !ChildProcess.isAlive($0.pid) }.map(\.pid))
            carryOut(machine.exited(exited, now: now()), on: &machine, terminations: &terminations)
            carryOut(machine.tick(now: now()), on: &machine, terminations: &terminations)
            guard let group = try? await engine.sample().first(where: { $0.group == configuration.workerGroup }) else {
                continue
            }
            let samples = await roster.samples(group: configuration.workerGroup)
            let signal = LoadSignal(
                group: group, samples: samples, topic: configuration.topics.invocations, time: now())
            if let event = scaler.observe(signal) {
                await decisions.publish(event)
                carryOut(machine.decide(event.instancesAfter, now: now()), on: &machine, terminations: &terminations)
            }
            for event in functions.observe(
                samples, time: now(), workers: max(scaler.workers, 1), backlog: signal.backlog,
                predictedRates: demand?.predictedRates() ?? [:])
            {
                await decisions.publish(event)
            }
        }
        // Stopped: the workers finish what they run and commit before the termination group ends.
        carryOut(machine.stopAll(), on: &machine, terminations: &terminations)
    }

    /// Spawns and terminates workers; terminations run in `terminations` (SIGTERM, then SIGKILL after the grace).
    private func carryOut(
        _ actions: [SupervisorStateMachine.Action], on machine: inout SupervisorStateMachine,
        terminations: inout DiscardingTaskGroup
    ) {
        for action in actions {
            switch action {
            case .spawn(let id, let slot):
                let log = configuration.logDirectory.appendingPathComponent("\(id).log")
                let metrics = configuration.metricsPortBase.map { ["--metrics-port", String($0 + slot)] } ?? []
                do {
                    let pid = try ChildProcess.spawn(
                        configuration.executable, ["worker", "--id", id] + metrics + configuration.workerArguments,
                        logFile: log,
                        lifetime: .tiedToParent)
                    machine.spawned(id: id, pid: pid)
                    logger.info("worker started", metadata: ["worker": "\(id)", "pid": "\(pid)"])
                } catch {
                    logger.error("cannot start a worker", metadata: ["error": "\(error)"])
                    machine.spawnFailed()
                    return
                }
            case .terminate(let id, let pid):
                logger.info("worker stopping", metadata: ["worker": "\(id)"])
                let grace = configuration.workerGrace
                terminations.addTask { await ChildProcess.terminate(pid, graceSeconds: grace) }
            case .exited(let id, let restartIn):
                let log = configuration.logDirectory.appendingPathComponent("\(id).log").path
                logger.error("a worker exited", metadata: ["worker": "\(id)", "log": "\(log)"])
                configuration.report?("worker \(id) exited (see \(log)); next start in \(restartIn) s")
            }
        }
    }
}
