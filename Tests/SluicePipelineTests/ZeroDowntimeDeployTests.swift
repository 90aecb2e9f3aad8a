import Foundation
import Logging
import SluiceFunctions
import SluiceKafka
import SluicePipeline
import SluiceRecords
import SluiceRegistry
import SluiceRollout
import SluiceTesting
import Synchronization
import Testing

/// Requests published at a steady rate until `stop()`, their ids kept.
final class SteadyPublisher: Sendable {
    let ids = Mutex<[String]>([])
    private let stopping = Atomic<Bool>(false)

    /// Publishes `perTick` requests every `tick` until `stop()`.
    func run(harness: PipelineHarness, function: String, perTick: Int, tick: Duration) async throws {
        let producer = try KafkaProducer.make(ProducerConfiguration(connection: harness.connection))
        do {
            try await publish(producer, harness: harness, function: function, perTick: perTick, tick: tick)
        } catch {
            await producer.close()
            throw error
        }
        await producer.close()
    }

    private func publish(
        _ producer: KafkaProducer, harness: PipelineHarness, function: String, perTick: Int, tick: Duration
    ) async throws {
        let clock = ContinuousClock()
        var next = clock.now
        while !stopping.load(ordering: .relaxed) {
            var deliveries: [PendingDelivery] = []
            for _ in 0..<perTick {
                let id = InvocationRequest.randomID()
                let request = InvocationRequest(
                    invocationID: id, function: function, trigger: "invoke", key: nil, value: Array("{}".utf8),
                    traceParent: .start())
                deliveries.append(try await producer.enqueue(request.producerRecord(topic: harness.invocationsTopic)))
                ids.withLock { $0.append(id) }
            }
            for delivery in deliveries { _ = try await delivery.position() }
            next += tick
            try await clock.sleep(until: next)
        }
    }

    func stop() { stopping.store(true, ordering: .relaxed) }
}

@Suite("Zero-downtime deploys under load, with the canary judge", .timeLimit(.minutes(8)))
struct ZeroDowntimeDeployTests {
    @Test(
        "At 200 events/s: v2 as a 20 % canary is promoted by the judge; v3, failing every invocation, is rolled back by it; every event ends in exactly one success on v1 or v2, v3's share by a retry on the stable version; no dead letter"
    )
    func canariesUnderLoad() async throws {
        let harness = try await PipelineHarness.make(ownTelemetry: true)
        let (registry, follow) = try await harness.liveRegistry()
        defer { follow.cancel() }
        let name = uniqueName("steady")
        let manifest = try harness.writeFunction(
            """
            name: \(name)
            tenant: acme
            runtime: python3
            handler: handler.main
            ordering: none
            retry:
              max_attempts: 8
              backoff: exponential
              initial_ms: 500
              max_ms: 8000
              jitter: none
            deploy:
              bake_seconds: 4
              min_invocations: 20
              max_p99_ratio: 1000
              window_seconds: 60
            """,
            files: ["handler.py": "def main(event, context):\n    return 1\n"])
        let handler = (manifest as NSString).deletingLastPathComponent + "/code/handler.py"
        let v1 = try await harness.deploy(manifest).version
        let workers = [
            try await harness.startWorker(registry: registry, id: "steady-1"),
            try await harness.startWorker(registry: registry, id: "steady-2"),
        ]
        var judging = CanaryJudge.Configuration(connection: harness.connection)
        judging.topics = harness.topics
        let judge = RunningService.start(
            [CanaryJudge(configuration: judging, logger: harness.logger)], logger: harness.logger)
        let publisher = SteadyPublisher()
        let publishing = Task {
            try await publisher.run(harness: harness, function: name, perTick: 10, tick: .milliseconds(50))
        }

        func deployCanary(_ code: String) async throws -> Int {
            try code.write(toFile: handler, atomically: true, encoding: .utf8)
            let outcome = try await FunctionDeployer.with(connection: harness.connection, signingKey: TestDeployKey.key)
            {
                try await $0.deploy(try FunctionManifest.load(path: manifest), canary: 20)
            }
            guard case .deployed(let spec) = outcome else { throw TestSetupError("the canary was not deployed") }
            return spec.version
        }
        func event(_ type: String, version: Int) async throws -> [String: any Sendable] {
            let events = try await harness.readJSON("sluice.deployments", function: name, timeout: .seconds(180)) {
                $0.contains { $0["event_type"] as? String == type && $0["to_version"] as? Double == Double(version) }
            }
            return try #require(events.last { $0["event_type"] as? String == type })
        }
        try await Task.sleep(for: .seconds(1))  // traffic on v1 before the first canary (not a synchronisation)
        let v2 = try await deployCanary("def main(event, context):\n    return 2\n")
        let promoted = try await event("promoted", version: v2)
        let v3 = try await deployCanary("def main(event, context):\n    raise RuntimeError('v3 is broken')\n")
        let rolledBack = try await event("rolled_back", version: v2)
        try await Task.sleep(for: .seconds(1))  // traffic on v2 after the rollback
        publisher.stop()
        try await publishing.value
        let ids = Set(publisher.ids.withLock { $0 })

        let results = try await harness.readJSON("sluice.results", function: name, timeout: .seconds(240)) { results in
            let succeeded = Set(
                results.filter { $0["status"] as? String == "success" }.compactMap { $0["invocation_id"] as? String })
            return succeeded.isSuperset(of: ids)
        }
        await judge.stop()
        for worker in workers { await worker.stop() }

        var successes: [String: [Int]] = [:]
        var failedOnV3: Set<String> = []
        for result in results {
            guard let id = result["invocation_id"] as? String, ids.contains(id) else { continue }
            let version = Int(result["version"] as? Double ?? 0)
            if result["status"] as? String == "success" { successes[id, default: []].append(version) }
            if version == v3 { failedOnV3.insert(id) }
            #expect(version != v3 || result["status"] as? String != "success", "v3 succeeded for \(id)")
        }
        let duplicated = successes.filter { $0.value.count != 1 }
        #expect(duplicated.isEmpty, "\(duplicated.count) events succeeded more than once: \(duplicated.prefix(3))")
        #expect(successes.values.allSatisfy { [v1, v2].contains($0[0]) }, "a success on neither v1 nor v2")
        #expect(!failedOnV3.isEmpty, "no event ran on v3 before its rollback: the judge decided on nothing")
        #expect(
            failedOnV3.allSatisfy { successes[$0] == [v2] }, "an event that failed on v3 did not succeed on v2")
        #expect(ids.count >= 400, "only \(ids.count) events were published")
        let deadLetters = try await KafkaAdmin.with(harness.connection) {
            try await $0.highWatermarks(topics: [harness.deadLetterTopic]).values.reduce(0, +)
        }
        #expect(deadLetters == 0, "\(deadLetters) dead letters")

        #expect(promoted["decided_by"] as? String == "canary-judge")
        let bakedOn = try #require(promoted["canary"] as? [String: any Sendable])
        #expect((bakedOn["invocations"] as? Double ?? 0) >= 20 && bakedOn["errors"] as? Double == 0, "\(bakedOn)")
        #expect(rolledBack["decided_by"] as? String == "canary-judge")
        #expect(rolledBack["from_version"] as? Double == Double(v3))
        let failing = try #require(rolledBack["canary"] as? [String: any Sendable])
        #expect(
            (failing["invocations"] as? Double ?? 0) >= 20
                && failing["errors"] as? Double == failing["invocations"] as? Double,
            "\(failing)")
        let status = try await DeploymentStatus.read(name: name, connection: harness.connection, topics: harness.topics)
        #expect(status.state == .rolledBack && status.stableVersion == v2 && status.canaryVersion == nil)
        #expect(status.canary?.version == v3 && status.canary?.errors == status.canary?.invocations)
        harness.logger.info(
            "zero-downtime: \(ids.count) events, \(failedOnV3.count) failed first on v3, promoted v\(v2) on \(bakedOn["invocations"] ?? 0) canary attempts, rolled back v\(v3) on \(failing["invocations"] ?? 0)"
        )
    }
}
