import Foundation
import Logging
import SluiceAutoscaler
import SluiceKafka
import SluiceLag
import SluiceSupport

/// Scales a pool of `sluice worker` processes from Kafka signals: every second it samples the workers'
/// group lag on the invocations topic (the lag engine) and the arrival rate, lets the `Autoscaler`
/// decide, publishes each decision as a Scaling Event on `sluice.scaling`, and starts or stops worker
/// processes to match.
public final class Supervisor: Sendable {
    public struct Configuration: Sendable {
        public var connection: KafkaConnection
        /// The pool's name in Scaling Events (`function_id`).
        public var poolID = "pool:sluice-workers"
        public var workerGroup = "sluice-workers"
        public var invocationsTopic = "sluice.invocations"
        public var scalingTopic = "sluice.scaling"
        public var policy = Autoscaler.Policy()
        public var initialWorkers = 1
        /// The `sluice` executable and the arguments every worker gets (beyond `worker --id`).
        public var executable: String
        public var workerArguments: [String] = []
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
        var lagOptions = LagEngine.Options()
        lagOptions.groups = [configuration.workerGroup]
        let engine = try LagEngine(connection: configuration.connection, options: lagOptions, logger: logger)
        let producer = try KafkaProducer.make(ProducerConfiguration(connection: configuration.connection), logger: logger)
        var scaler = Autoscaler(functionID: configuration.poolID, policy: configuration.policy, workers: configuration.initialWorkers)
        var workers: [(id: String, pid: pid_t)] = []
        var started = 0
        let start = ContinuousClock.now
        func resize(to count: Int) {
            while workers.count < count {
                started += 1
                let id = "\(configuration.poolID.replacingOccurrences(of: ":", with: "-"))-\(started)"
                let log = configuration.logDirectory.appendingPathComponent("\(id).log")
                do {
                    let pid = try ChildProcess.spawn(
                        configuration.executable, ["worker", "--id", id] + configuration.workerArguments, logFile: log, lifetime: .tiedToParent)
                    workers.append((id, pid))
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
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            guard let group = try? await engine.sample().first(where: { $0.group == configuration.workerGroup }) else { continue }
            let partitions = group.partitions.filter { $0.topic == configuration.invocationsTopic }
            let signal = LoadSignal(
                time: (ContinuousClock.now - start) / .seconds(1),
                lagByPartition: Dictionary(uniqueKeysWithValues: partitions.map { ($0.partition, $0.lag) }),
                // Which partitions a record in retry holds is not known here yet (workers will say so
                // in their load samples); until then all lag counts as backlog.
                heldByRetry: [],
                arrivalRate: partitions.reduce(0) { $0 + $1.produceRate }, inFlight: group.members > 0 && group.totalLag > 0 ? 1 : 0)
            guard let event = scaler.observe(signal) else { continue }
            let value = (try? JSONEncoder().encode(event)).map { Array($0) }
            _ = try? await producer.send(ProducerRecord(topic: configuration.scalingTopic, key: Array(event.functionID.utf8), value: value))
            logger.info("scaling", metadata: ["event": "\(event.eventType.rawValue)", "from": "\(event.instancesBefore)", "to": "\(event.instancesAfter)", "reason": "\(event.reason)"])
            resize(to: event.instancesAfter)
        }
        // Stopped: the workers finish what they run and commit before this returns.
        for worker in workers { await ChildProcess.terminate(worker.pid, graceSeconds: 15) }
        await producer.close()
        await engine.close()
    }
}
