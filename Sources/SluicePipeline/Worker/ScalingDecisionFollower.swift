import Foundation
import Logging
import SluiceArtifacts
import SluiceKafka
import SluiceRecords
import SluiceRegistry
import SluiceRuntime

/// Follows the autoscaler's per-function decisions on the scaling topic and applies those for this
/// worker's group: warm processes to keep, and invocations at once. Runs until cancelled.
struct ScalingDecisionFollower: Sendable {
    let configuration: Worker.Configuration
    let registry: FunctionRegistry
    let runner: FunctionRunner
    let artifacts: ArtifactResolver
    let concurrency: FunctionConcurrency
    let logger: Logger

    func run() async {
        let follower: TopicFollower
        do {
            follower = try await TopicFollower.open(
                configuration.topics.scaling, from: TopicPartitionOffset.end, connection: configuration.connection,
                logger: logger)
        } catch {
            logger.warning("cannot follow scaling decisions; warm pools keep min_warm", metadata: ["error": "\(error)"])
            return
        }
        await follower.forEachRecord { record in
            guard let value = record.value,
                let decision = try? JSONDecoder().decode(ScalingEvent.self, from: Data(value)),
                decision.workerGroup == configuration.groupID, let spec = registry.function(named: decision.functionID)
            else { return }
            // Anyone can write to the topic: more warm processes than can run at once here would only
            // take memory (the worker's concurrency and the function's max_concurrency bound them), and
            // the concurrency is kept within 1 … max_concurrency by `apply`.
            let warm = min(max(0, decision.warmProcesses), spec.manifest.maxConcurrency, configuration.concurrency)
            let limit = concurrency.apply(decision.concurrency, to: spec)
            // Warm processes only of a version this worker may run (signed, its artifact here).
            if case .success(let resolved) = await artifacts.resolve(spec.stable) {
                await runner.setWarmTarget(resolved, processes: warm)
            }
            logger.info(
                "scaling decision applied",
                metadata: [
                    "function": "\(spec.name)", "warm_processes": "\(warm)",
                    "concurrency": "\(limit)",
                    "event_id": "\(decision.eventID)",
                ])
        }
    }
}
