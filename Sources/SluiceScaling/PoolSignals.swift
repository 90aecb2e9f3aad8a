import Foundation
import Logging
import SluiceAutoscaler
import SluiceKafka
import SluiceLag
import SluiceRecords

extension LoadSignal {
    /// The pool's signal from the group's lag on `topic` and its workers' load samples.
    init(group: GroupLag, samples: [LoadSample], topic: String, time: Double) {
        let partitions = group.partitions.filter { $0.topic == topic }
        let held = Set(samples.flatMap(\.partitions).filter { $0.topic == topic && $0.heldByRetry }.map(\.partition))
        self.init(
            time: time, lagByPartition: Dictionary(uniqueKeysWithValues: partitions.map { ($0.partition, $0.lag) }),
            heldByRetry: held,
            arrivalRate: partitions.reduce(0) { $0 + $1.produceRate }, inFlight: samples.reduce(0) { $0 + $1.inFlight },
            consumeRate: partitions.reduce(0) { $0 + $1.consumeRate })
    }
}

/// One `FunctionScaler` per function seen in the workers' samples, fed every second.
struct FunctionScalers {
    let policy: FunctionScaler.Policy
    private var scalers: [String: FunctionScaler] = [:]
    /// The latest mean duration of each function (kept through seconds without invocations).
    private var meanDurations: [String: Double] = [:]

    init(policy: FunctionScaler.Policy) { self.policy = policy }

    /// The decisions of this second, from the samples of the workers alive now and the predicted rates
    /// (invocations per second) of functions pre-warmed ahead of their demand.
    mutating func observe(
        _ samples: [LoadSample], time: Double, workers: Int, backlog: Int64, predictedRates: [String: Double] = [:]
    ) -> [ScalingEvent] {
        let queued = samples.reduce(0) { $0 + $1.queued }
        var loads: [String: (invocationsPerSecond: Double, durationMsSum: Double, invocations: Int, inFlight: Int)] =
            [:]
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
        var events: [ScalingEvent] = []
        let predicted = predictedRates.filter { $0.value > 0 }.keys
        for function in Set(loads.keys).union(scalers.keys).union(predicted).sorted() {
            let load = loads[function] ?? (0, 0, 0, 0)
            if load.invocations > 0 { meanDurations[function] = load.durationMsSum / Double(load.invocations) }
            var scaler = scalers[function] ?? FunctionScaler(functionID: function, policy: policy)
            let signal = FunctionSignal(
                time: time, invocationsPerSecond: load.invocationsPerSecond,
                meanDurationMs: meanDurations[function] ?? 0,
                inFlight: load.inFlight, queued: queued, backlog: backlog)
            let ahead = scaler.predicted(
                rate: predictedRates[function] ?? 0, meanDurationMs: meanDurations[function] ?? 0, workers: workers)
            if let event = scaler.observe(signal, workers: workers, predictedInstances: ahead) { events.append(event) }
            scalers[function] = scaler
        }
        return events
    }
}

/// Publishes Scaling Events on the scaling topic, tagged with the pool's worker group, and reports them.
struct ScalingEventPublisher: Sendable {
    let configuration: Supervisor.Configuration
    let producer: KafkaProducer
    let logger: Logger

    func publish(_ event: ScalingEvent) async {
        var event = event
        event.workerGroup = configuration.workerGroup
        let value = (try? JSONEncoder().encode(event)).map { Array($0) }
        _ = try? await producer.send(
            ProducerRecord(topic: configuration.topics.scaling, key: Array(event.functionID.utf8), value: value))
        let what =
            event.functionID == configuration.poolID
            ? " workers" : " warm processes (\(event.warmProcesses) per worker)"
        configuration.report?(
            "\(event.timestamp) \(event.functionID): \(event.eventType.rawValue) \(event.instancesBefore) -> \(event.instancesAfter)"
                + what + ", \(event.reason)")
        logger.info(
            "scaling",
            metadata: [
                "function_id": "\(event.functionID)", "event": "\(event.eventType.rawValue)",
                "from": "\(event.instancesBefore)",
                "to": "\(event.instancesAfter)", "warm_processes": "\(event.warmProcesses)",
                "reason": "\(event.reason)",
            ])
    }
}
