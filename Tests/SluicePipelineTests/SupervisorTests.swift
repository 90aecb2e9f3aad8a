import Foundation
import SluiceAutoscaler
import SluiceKafka
import SluiceLag
import SluiceRecords
import SluiceScaling
import SluiceTesting
import Testing

@Suite("The supervisor scales worker processes from Kafka signals", .timeLimit(.minutes(10)))
struct SupervisorTests {
    @Test(
        "A 20 000-event backlog adds workers and drains faster; idle scales back down; every decision is a Scaling Event"
    )
    func backlog() async throws {
        try await HeavyLoad.exclusive { try await backlogAlone() }
    }

    func backlogAlone() async throws {
        let harness = try await PipelineHarness.make()
        let name = uniqueName("scaled")
        try await harness.deploy(
            try harness.writeFunction(
                "name: \(name)\ntenant: acme\nruntime: python3\nhandler: handler.main\nordering: none\nmax_concurrency: 4\n",
                files: [
                    "handler.py": "import time\ndef main(event, context):\n    time.sleep(0.004)\n    return event\n"
                ]))
        let group = "scaled-\(harness.invocationsTopic)"
        let pool = "pool:\(name)"
        var configuration = Supervisor.Configuration(
            connection: harness.connection, executable: CommandRunner.sluiceBinary,
            logDirectory: FileManager.default.temporaryDirectory)
        configuration.poolID = pool
        configuration.workerGroup = group
        configuration.topics.invocations = harness.invocationsTopic
        configuration.workerArguments = harness.workerArguments + ["--group", group, "--concurrency", "2"]
        configuration.policy.perWorkerThroughput = 300
        configuration.policy.maxWorkers = 3
        configuration.policy.scaleDownWindowSeconds = 20
        configuration.policy.cooldownSeconds = 3
        configuration.policy.idleSecondsBeforeZero = 30
        // The function's warm pool goes to zero well before the pool of workers does, so a worker's load
        // sample can show the decision applied. The function's way to zero is its scale-down window, a
        // cooldown, then its idle time: with a 10 s window it came 3 s before the workers stopped (20 s),
        // and a loaded run's samples missed that gap; now about 8 s against 30 s.
        configuration.functionPolicy.idleSecondsBeforeZero = 3
        configuration.functionPolicy.scaleDownWindowSeconds = 5
        let supervisor = Supervisor(configuration: configuration)
        let running = Task { try await supervisor.run() }
        defer { running.cancel() }

        // One worker running (its results arrive) before the backlog lands.
        _ = try await harness.publishRequests(function: name, count: 10, key: { _ in nil }, value: { "\($0)" })
        _ = try await harness.readJSON("sluice.results", function: name) { $0.count >= 10 }
        let publishing = Date()
        let ids = try await harness.publishRequests(
            function: name, count: 20_000, key: { _ in nil }, value: { "\($0)" })
        let published = Date()

        // While the backlog drains, the lag engine names an owner for every partition, and each owner is
        // a worker of this pool (from the workers' load samples: the broker does not report owners).
        let roster = WorkerRoster()
        try await roster.start(connection: harness.connection)
        var lagOptions = LagEngine.Options()
        lagOptions.groups = [group]
        lagOptions.roster = roster
        let engine = try LagEngine(connection: harness.connection, options: lagOptions)
        let owners = try await withDeadline(.seconds(60), "an owner for every partition") {
            while true {
                let rows = try await engine.sample().flatMap(\.partitions).filter {
                    $0.topic == harness.invocationsTopic
                }
                if rows.count == 6, rows.allSatisfy({ $0.owner != nil }) { return rows.compactMap(\.owner) }
                try await Task.sleep(for: .milliseconds(500))
            }
        }
        await engine.close()
        await roster.close()
        #expect(owners.allSatisfy { $0.hasPrefix(pool.replacingOccurrences(of: ":", with: "-")) }, "\(owners)")
        let results = try await harness.readJSON("sluice.results", function: name, timeout: .seconds(240)) {
            $0.count >= 20_010
        }
        #expect(Set(results.compactMap { $0["invocation_id"] as? String }).isSuperset(of: ids))

        let events = try await readScalingEvents(harness.connection, pool: pool) { events in
            events.contains { $0["event_type"] as? String == "scale_up" }
                && events.contains { ["scale_down", "scale_to_zero"].contains($0["event_type"] as? String) }
        }
        // Per function: warm processes up with the load, then to zero when it is idle; a worker applies it
        // (its warm processes would otherwise stay for the 60 s warm TTL).
        let functionEvents = try await readScalingEvents(harness.connection, pool: name) { events in
            events.contains { $0["event_type"] as? String == "scale_up" }
                && events.contains { $0["event_type"] as? String == "scale_to_zero" }
        }
        let functionUp = try #require(functionEvents.first { $0["event_type"] as? String == "scale_up" })
        #expect((functionUp["warm_processes"] as? Int ?? 0) >= 1)
        let toZero = try #require(functionEvents.first { $0["event_type"] as? String == "scale_to_zero" })
        let toZeroAt = try #require((toZero["timestamp"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) })
        let applied = try await nextLoadSample(harness.connection, timeout: .seconds(60)) { sample in
            let at = ISO8601DateFormatter.withFractions.date(from: sample.timestamp) ?? .distantPast
            return sample.group == group && at >= toZeroAt.addingTimeInterval(1) && sample.functions[name] != nil
                && sample.warmProcesses[name] == 0
        }
        #expect(applied.functions[name]?.inFlight == 0)
        running.cancel()
        _ = try? await running.value
        let up = try #require(events.first { $0["event_type"] as? String == "scale_up" })
        #expect((up["instances_after"] as? Int ?? 0) >= 2)
        #expect((up["instances_after"] as? Int ?? 99) <= 3)
        #expect(
            events.allSatisfy { event in
                [
                    "event_id", "function_id", "event_type", "reason", "instances_before", "instances_after",
                    "timestamp", "autoscaler_version",
                ]
                .allSatisfy { event[$0] != nil }
            })

        // The added workers did part of the work. How much faster the pool drained is timing on a loaded
        // machine, measured by `sluice bench scaling` instead of asserted here.
        let workersWithResults = Set(results.compactMap { $0["worker_id"] as? String })
        #expect(workersWithResults.count >= 2, "only \(workersWithResults) produced results")
        let upAt = try #require((up["timestamp"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) })
        // The event's timestamp has whole seconds.
        print(
            String(
                format:
                    "supervisor: scale-up %.1f s after the backlog began (%.1f s after its last record), to %d workers",
                upAt.timeIntervalSince(publishing), upAt.timeIntervalSince(published),
                up["instances_after"] as? Int ?? 0))
    }
}

extension ISO8601DateFormatter {
    static var withFractions: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}

/// Scaling Events of one pool on sluice.scaling, read from the beginning until `done`.
func readScalingEvents(
    _ connection: KafkaConnection, pool: String, timeout: Duration = .seconds(90),
    until done: @escaping @Sendable ([[String: Any]]) -> Bool
) async throws -> [[String: Any]] {
    let consumer = try KafkaConsumer.make(ConsumerConfiguration(connection: connection))
    defer { Task { await consumer.close() } }
    try await consumer.assign([
        TopicPartitionOffset(TopicPartition("sluice.scaling", 0), offset: TopicPartitionOffset.beginning)
    ])
    let box = try await withDeadline(timeout, "Scaling Events of \(pool)") {
        var events: [Data] = []
        for await event in consumer.events {
            guard case .record(let record) = event, record.key == Array(pool.utf8), let value = record.value else {
                continue
            }
            events.append(Data(value))
            if done(events.compactMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }) { break }
        }
        return events
    }
    return box.compactMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
}

@Suite("The supervisor replaces workers that exit", .timeLimit(.minutes(2)))
struct SupervisorRestartTests {
    @Test("A worker that exits at start is replaced, each time after a longer pause")
    func exitedWorkersAreReplaced() async throws {
        let connection = try await TestBroker.connection()
        let pool = uniqueName("pool:crashing")
        var configuration = Supervisor.Configuration(
            connection: connection, executable: CommandRunner.sluiceBinary,
            logDirectory: FileManager.default.temporaryDirectory)
        configuration.poolID = pool
        configuration.workerGroup = uniqueName("crashing")
        // A platform file that does not exist: `sluice worker` exits 1 at once, naming it.
        configuration.workerArguments = [
            "--brokers", connection.brokerList, "--platform-config", "/nonexistent/platform.yaml",
        ]
        configuration.policy.minWorkers = 1
        // Reports in the order the supervisor made them (a stream keeps it).
        let (reports, report) = AsyncStream.makeStream(of: String.self)
        configuration.report = { report.yield($0) }
        let supervisor = Supervisor(configuration: configuration)
        let running = Task { try await supervisor.run() }
        defer { running.cancel() }
        let lines = try await withDeadline(.seconds(60), "three replacements") {
            var lines: [String] = []
            for await line in reports {
                lines.append(line)
                if lines.filter({ $0.contains("exited") }).count >= 3 { break }
            }
            return lines
        }
        running.cancel()
        let pauses = lines.filter { $0.contains("exited") }.compactMap {
            $0.split(separator: " ").dropLast().last.map(String.init)
        }
        #expect(Array(pauses.prefix(3)) == ["2", "4", "8"], "\(lines)")
        let log = FileManager.default.temporaryDirectory.appendingPathComponent(
            "\(pool.replacingOccurrences(of: ":", with: "-"))-1.log")
        #expect((try? String(contentsOf: log, encoding: .utf8))?.contains("/nonexistent/platform.yaml") == true)
    }
}
