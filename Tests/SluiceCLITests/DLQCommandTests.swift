import Foundation
import SluiceFunctions
import SluiceKafka
import SluicePipeline
import SluiceRecords
import SluiceSupport
import SluiceTesting
import Testing

@Suite("bin/sluice dlq list, show and replay", .timeLimit(.minutes(4)))
struct DLQCommandTests {
    func json(_ result: CommandResult) throws -> [String: Any] {
        #expect(result.status == 0, "\(result.errors)")
        return try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
    }

    @Test("Fix the function, replay its dead letters: each succeeds once; replay again and --dry-run publish nothing")
    func replayAfterFix() async throws {
        let harness = try await PipelineHarness.make()
        let name = uniqueName("fixme")
        let body =
            "name: \(name)\ntenant: acme\nruntime: python3\nhandler: handler.main\nretry:\n  max_attempts: 2\n  initial_ms: 50\n"
        try await harness.deploy(
            try harness.writeFunction(
                body, files: ["handler.py": "def main(event, context):\n    raise RuntimeError('bug')\n"]))
        let (registry, follow) = try await harness.liveRegistry()
        let worker = try await harness.startWorker(registry: registry)
        _ = try await harness.publishRequests(function: name, count: 20, key: { "k\($0)" }, value: { "\($0)" })
        let letters = try await harness.readRecords(harness.deadLetterTopic, function: name) { $0.count >= 20 }
        let positions = Set(
            letters.map { RecordPosition(topic: $0.topic, partition: $0.partition, offset: $0.offset).description })

        let fixed = try await harness.deploy(
            try harness.writeFunction(
                body, files: ["handler.py": "def main(event, context):\n    return 'fixed %s' % event\n"]))
        try await withDeadline(.seconds(30), "the worker seeing version \(fixed.version)") {
            while registry.function(named: name)?.version != fixed.version { await registry.waitForChange() }
        }

        let admin = try KafkaAdmin.make(harness.connection)
        let common = [
            "--function", name, "--dlq-topic", harness.deadLetterTopic, "--invocations-topic", harness.invocationsTopic,
            "--brokers", harness.connection.brokerList, "--json",
        ]
        let before = try await admin.highWatermarks(topics: [harness.invocationsTopic])
        let dry = try json(try await CommandRunner.sluice(["dlq", "replay", "--dry-run"] + common))
        #expect((dry["replayed"] as? [Any])?.count == 20)
        #expect(try await admin.highWatermarks(topics: [harness.invocationsTopic]) == before, "--dry-run published")

        let replay = try json(try await CommandRunner.sluice(["dlq", "replay"] + common))
        let replayed = try #require(replay["replayed"] as? [[String: Any]])
        #expect(replayed.count == 20)
        #expect(Set(replayed.compactMap { $0["dead_letter"] as? String }) == positions)
        let replayIDs = Set(replayed.compactMap { $0["invocation_id"] as? String })
        let results = try await harness.readJSON("sluice.results", function: name) { results in
            replayIDs.isSubset(
                of: Set(
                    results.compactMap { $0["status"] as? String == "success" ? $0["invocation_id"] as? String : nil }))
        }
        let afterReplay = try await admin.highWatermarks(topics: [harness.invocationsTopic])

        let again = try json(try await CommandRunner.sluice(["dlq", "replay"] + common))
        #expect((again["replayed"] as? [Any])?.isEmpty == true)
        #expect(again["already_replayed"] as? Int == 20)
        #expect(
            try await admin.highWatermarks(topics: [harness.invocationsTopic]) == afterReplay,
            "a second replay published")
        await admin.close()
        await worker.stop()
        follow.cancel()

        let successes = results.filter { $0["status"] as? String == "success" }
        #expect(successes.count == 20, "each dead letter succeeds exactly once")
        #expect(
            successes.allSatisfy {
                $0["version"] as? Double == Double(fixed.version) && ($0["attempt"] as? Double) == 1
            })
        #expect(Set(successes.compactMap { $0["replay_of"] as? String }) == positions)
    }

    @Test("dlq list filters by function, error class and time window; --json parses; show prints one record")
    func listFilters() async throws {
        let connection = try await TestBroker.connection()
        let topic = try await makeTestTopic("dlq", partitions: 2)
        let (a, b) = (uniqueName("fa"), uniqueName("fb"))
        let now = Date()
        let letters: [(String, ErrorClass, Double)] = [
            (a, .error, -3 * 3600), (a, .error, -2 * 3600), (a, .error, -3600), (a, .timeout, -1800),
            (a, .timeout, -1700), (b, .crash, -600),
        ]
        let producer = try KafkaProducer.make(ProducerConfiguration(connection: connection))
        var positions: [RecordPosition] = []
        for (index, (function, errorClass, offset)) in letters.enumerated() {
            let time = Timestamp.rfc3339(now.addingTimeInterval(offset))
            let letter = DeadLetter(
                key: Array("k\(index)".utf8), value: Array("v\(index)".utf8),
                origin: Origin(topic: "orders", partition: 0, offset: Int64(index), timestampMs: 0),
                function: function, functionVersion: 1, invocationID: "inv_\(index)", attempts: 4,
                errorClass: errorClass, error: "boom \(index)",
                stderrTail: "tail \(index)", firstFailure: time, lastFailure: time, worker: "w",
                reason: .attemptsExhausted, traceParent: .start())
            positions.append(try await producer.send(letter.producerRecord(topic: topic)))
        }
        await producer.close()
        let base = [
            "dlq", "list", "--dlq-topic", topic, "--brokers", connection.brokerList, "--json",
        ]
        func count(_ extra: [String]) async throws -> Int {
            let object = try json(try await CommandRunner.sluice(base + extra))
            return try #require(object["records"] as? [[String: Any]]).count
        }
        #expect(try await count([]) == 6)
        #expect(try await count(["--function", a]) == 5)
        #expect(try await count(["--function", a, "--error-class", "timeout"]) == 2)
        #expect(try await count(["--error-class", "crash"]) == 1)
        #expect(try await count(["--since", "90m"]) == 4)
        let since = Timestamp.rfc3339(now.addingTimeInterval(-2.5 * 3600))
        let until = Timestamp.rfc3339(now.addingTimeInterval(-45 * 60))
        #expect(try await count(["--since", since, "--until", until]) == 2)

        let all = try json(try await CommandRunner.sluice(base + ["--function", a]))
        let summary = try #require(all["summary"] as? [[String: Any]])
        let errors = try #require(summary.first { $0["error_class"] as? String == "error" })
        #expect(errors["count"] as? Int == 3)
        #expect(errors["oldest"] as? String == Timestamp.rfc3339(now.addingTimeInterval(-3 * 3600)))
        #expect(errors["newest"] as? String == Timestamp.rfc3339(now.addingTimeInterval(-3600)))

        let table = try await CommandRunner.sluice([
            "dlq", "list", "--dlq-topic", topic, "--brokers", connection.brokerList,
        ])
        #expect(table.status == 0)
        #expect(table.output.contains("FUNCTION") && table.output.contains(b))
        let bad = try await CommandRunner.sluice([
            "dlq", "list", "--error-class", "grumpy", "--brokers", connection.brokerList,
        ])
        #expect(bad.status != 0)
        #expect(bad.errors.contains("unknown --error-class 'grumpy'"))

        let shown = try json(
            try await CommandRunner.sluice([
                "dlq", "show", positions[5].description, "--json", "--brokers", connection.brokerList, "--timeout",
                "60",
            ]))
        #expect(shown["function"] as? String == b)
        #expect(shown["error_class"] as? String == "crash")
        #expect(shown["stderr_tail"] as? String == "tail 5")
        #expect(shown["value"] as? String == "v5")
        #expect(shown["origin"] as? String == "orders/0@5")
        let missing = try await CommandRunner.sluice([
            "dlq", "show", "\(topic)/0@999", "--brokers", connection.brokerList,
        ])
        #expect(missing.status != 0)
        #expect(missing.errors.contains("there is no record at"))
    }
}

@Suite("bin/sluice worker refuses a host that cannot sandbox")
struct WorkerSandboxRefusalTests {
    @Test("Without the sandbox launcher the worker exits 1 and says what is missing")
    func missingLauncher() async throws {
        let brokers = try await TestBroker.address()
        let result = try await CommandRunner.sluice(
            [
                "worker", "--brokers", brokers, "--invocations-topic", "sluice.invocations", "--group",
                uniqueName("refused"),
            ],
            environment: ["SLUICE_SANDBOX_LAUNCHER": "/nonexistent/sluice-sandbox"])
        #expect(result.status == 1)
        #expect(result.errors.contains("this host cannot run function sandboxes"), "\(result.errors)")
        #expect(result.errors.contains("/nonexistent/sluice-sandbox is missing"), "\(result.errors)")
    }
}
