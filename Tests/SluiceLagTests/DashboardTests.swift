import Foundation
import FoundationNetworking
import SluiceBroker
import SluiceDashboard
import SluiceKafka
import SluiceRecords
import SluiceTesting
import Testing

func fetchJSON(_ url: String) async -> Any? {
    guard let url = URL(string: url), let (data, response) = try? await URLSession.shared.data(from: url),
        (response as? HTTPURLResponse)?.statusCode == 200
    else { return nil }
    return try? JSONSerialization.jsonObject(with: data)
}

/// Runs headless Chromium (Debian's `chromium`) and returns its standard output.
func chromium(_ arguments: [String]) async throws -> String {
    let result = try await CommandRunner.run(
        "/usr/bin/chromium", ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--virtual-time-budget=6000"] + arguments,
        timeout: .seconds(90))
    #expect(result.status == 0, "chromium failed: \(result.errors.suffix(500))")
    return result.output
}

@Suite("The dashboard in a real browser", .timeLimit(.minutes(4)))
struct DashboardTests {
    @Test("Headless Chromium renders topics, groups and function panels with numbers; /api/lag matches sluice lag --json")
    func rendered() async throws {
        let harness = try await PipelineHarness.make()
        let name = uniqueName("shown")
        try await harness.deploy(try harness.writeFunction(
            "name: \(name)\ntenant: acme\nruntime: python3\nhandler: handler.main\n", files: ["handler.py": "def main(event, context):\n    return event\n"]))
        let (registry, follow) = try await harness.liveRegistry()
        let worker = try await harness.startWorker(registry: registry)
        _ = try await harness.publishRequests(function: name, count: 30, key: { "k\($0)" }, value: { "\($0)" })
        _ = try await harness.readJSON("sluice.results", function: name) { $0.count >= 30 }

        // A group that stays behind on a topic of its own, so that its numbers hold still.
        let topic = try await makeTestTopic("watched", partitions: 2)
        let producer = try KafkaProducer.make(ProducerConfiguration(connection: harness.connection))
        for index in 0..<20 { _ = try await producer.send(ProducerRecord(topic: topic, partition: Int32(index % 2), value: Array("\(index)".utf8))) }
        await producer.close()
        let lagging = uniqueName("behind")
        let consumer = try KafkaConsumer.make(ConsumerConfiguration(connection: harness.connection, groupID: lagging))
        try await consumer.commit([TopicPartitionOffset(TopicPartition(topic, 0), offset: 3), TopicPartitionOffset(TopicPartition(topic, 1), offset: 10)])
        await consumer.close()

        // A scaling decision, as the autoscaler publishes it.
        let decided = uniqueName("decided")
        let decision = """
            {"event_id":"scale_\(decided)_1","function_id":"\(decided)","event_type":"scale_up","reason":"backlog_500_records",\
            "instances_before":1,"instances_after":2,"timestamp":"2026-11-27T12:00:00Z","autoscaler_version":"sluice-autoscaler-1","warm_processes":3}
            """
        let scaling = try KafkaProducer.make(ProducerConfiguration(connection: harness.connection))
        _ = try await scaling.send(ProducerRecord(topic: "sluice.scaling", key: Array(decided.utf8), value: Array(decision.utf8)))
        await scaling.close()

        var options = DashboardState.Options()
        let workers = "workers-\(harness.invocationsTopic)"
        options.groups = [lagging, workers]
        let state = try DashboardState(connection: harness.connection, options: options)
        let port = EmbeddedBroker.freePort()
        let server = Task { try await DashboardServer(state: state, port: port).run() }
        defer { server.cancel() }
        let base = "http://127.0.0.1:\(port)"
        try await withDeadline(.seconds(60), "the dashboard knowing the function and both groups") {
            while true {
                let functions = await fetchJSON(base + "/api/functions") as? [[String: Any]] ?? []
                let lag = await fetchJSON(base + "/api/lag") as? [[String: Any]] ?? []
                let decisions = await fetchJSON(base + "/api/scaling") as? [[String: Any]] ?? []
                // The worker's partitions get their owner from its load samples.
                let owned = lag.filter { $0["group"] as? String == workers }.allSatisfy { $0["owner"] as? String == "test-worker" }
                if functions.contains(where: { $0["function"] as? String == name && ($0["invocations_total"] as? Int ?? 0) >= 30 }),
                    Set(lag.compactMap { $0["group"] as? String }) == [lagging, workers], owned,
                    decisions.contains(where: { $0["function_id"] as? String == decided })
                { return }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
        await worker.stop()
        follow.cancel()

        let dom = try await chromium(["--dump-dom", base + "/"])
        #expect(dom.contains("data-group=\"\(lagging)\"") && dom.contains("data-group=\"\(workers)\""), "groups missing from the page")
        #expect(dom.contains("data-topic=\"\(topic)\""), "topic missing from the page")
        #expect(dom.contains("data-function=\"\(name)\" data-invocations=\"30\"") || dom.contains("data-function=\"\(name)\" data-invocations=\"3"),
            "the function panel lacks its invocations")
        #expect(dom.contains("<svg"), "no lag chart")
        #expect(dom.contains("<td>\(decided)</td><td>scale_up</td>"), "the scaling decision is not on the page")
        let screenshot = CommandRunner.packageRoot.appendingPathComponent(".build/dashboard-screenshot.png")
        try? FileManager.default.removeItem(at: screenshot)
        _ = try await chromium(["--screenshot=\(screenshot.path)", "--window-size=1400,1100", base + "/"])
        let size = (try? FileManager.default.attributesOfItem(atPath: screenshot.path)[.size] as? Int) ?? 0
        #expect(size > 10_000, "screenshot of \(size) bytes")

        // /api/lag and `sluice lag --json` agree on the group that holds still.
        func positions(_ rows: [[String: Any]]) -> Set<String> {
            Set(rows.filter { $0["group"] as? String == lagging }.map { "\($0["topic"]!)/\($0["partition"]!) \($0["committed"]!) \($0["end"]!) \($0["lag"]!)" })
        }
        let api = await fetchJSON(base + "/api/lag") as? [[String: Any]] ?? []
        let cli = try await CommandRunner.sluice(["lag", "--group", lagging, "--json", "--interval", "0.2", "--brokers", harness.connection.brokerList])
        let cliRows = try #require(try JSONSerialization.jsonObject(with: cli.stdout) as? [[String: Any]])
        #expect(positions(api) == positions(cliRows))
        #expect(positions(api) == ["\(topic)/0 3 10 7", "\(topic)/1 10 10 0"])
    }
}
