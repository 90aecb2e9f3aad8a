import Foundation
import Logging
import Metrics
import SluiceKafka
import SluiceRecords
import SluiceRuntime

/// Publishes the worker's load sample on the scaling topic once a second until cancelled: in flight and
/// queued, per function, and per assigned partition its lag and whether a record in retry holds it. The
/// autoscaler, the lag engine (partition owners) and the dashboard read them.
struct LoadReporter: Sendable {
    let configuration: Worker.Configuration
    let load: WorkerLoad
    let runner: FunctionRunner
    let clients: GroupClients
    let logger: Logger

    func run() async {
        var last = ContinuousClock.now
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            let now = ContinuousClock.now
            await publish(interval: now - last)
            last = now
        }
    }

    private func publish(interval: Duration) async {
        let warm = await runner.warmProcesses()
        for (function, count) in warm {
            Gauge(label: "sluice_warm_processes", dimensions: [("function", function)]).record(count)
        }
        var functions = load.takeFunctionLoads()
        for (function, count) in warm { functions[function, default: .init()].warmProcesses = count }
        let assigned = (try? clients.consumer.assignment()) ?? []
        let ends = clients.consumer.cachedEnds(assigned)
        let next = await clients.commits.committable()
        let held = load.heldPartitions
        let partitions = assigned.map { partition in
            let end = ends[partition] ?? 0
            return LoadSample.Partition(
                topic: partition.topic, partition: partition.partition, lag: max(0, end - (next[partition] ?? end)),
                heldByRetry: held.contains(partition))
        }
        let (running, queued) = load.counts
        let sample = LoadSample(
            workerID: configuration.workerID, group: configuration.groupID, timestamp: Timestamp.rfc3339(),
            intervalSeconds: interval / .seconds(1), inFlight: running, queued: queued, functions: functions,
            partitions: partitions)
        _ = try? await clients.producer.enqueue(
            ProducerRecord(
                topic: configuration.topics.scaling, key: Array(configuration.workerID.utf8), value: sample.encoded()))
    }
}
