import Foundation
import FoundationNetworking
import HummingbirdTesting
import Logging
import SluiceBroker
import SluiceDashboard
import SluiceKafka
import SluiceRecords
import SluiceTesting
import Synchronization
import Testing

/// Runs headless Chromium (Debian's `chromium`) and returns its standard output.
func chromium(_ arguments: [String]) async throws -> String {
    let result = try await CommandRunner.run(
        "/usr/bin/chromium",
        ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--virtual-time-budget=6000"]
            + arguments,
        timeout: .seconds(90))
    #expect(result.status == 0, "chromium failed: \(result.errors.suffix(500))")
    return result.output
}

/// What the dashboard is shown: a function with 30 results from an in-process worker (still running, so
/// its load samples name it as the owner of its partitions), a group that stays behind on a topic of its
/// own (its numbers hold still), and a scaling decision as the autoscaler publishes it.
struct DashboardFixture {
    let harness: PipelineHarness
    let function: String
    let topic: String
    let lagging: String
    let workers: String
    let decided: String
    let worker: RunningService
    let state: DashboardState

    static func make() async throws -> DashboardFixture {
        let harness = try await PipelineHarness.make(ownTelemetry: true)
        let name = try await harness.deployPython("shown", code: "def main(event, context):\n    return event\n")
        let (registry, _) = try await harness.liveRegistry()
        let worker = try await harness.startWorker(registry: registry)
        _ = try await harness.publishRequests(function: name, count: 30, key: { "k\($0)" }, value: { "\($0)" })
        _ = try await harness.readJSON("sluice.results", function: name) { $0.count >= 30 }

        let topic = try await makeTestTopic("watched", partitions: 2)
        let producer = try KafkaProducer.make(ProducerConfiguration(connection: harness.connection))
        for index in 0..<20 {
            _ = try await producer.send(
                ProducerRecord(topic: topic, partition: Int32(index % 2), value: Array("\(index)".utf8)))
        }
        let lagging = uniqueName("behind")
        let consumer = try KafkaConsumer.make(ConsumerConfiguration(connection: harness.connection, groupID: lagging))
        try await consumer.commit([
            TopicPartitionOffset(TopicPartition(topic, 0), offset: 3),
            TopicPartitionOffset(TopicPartition(topic, 1), offset: 10),
        ])
        await consumer.close()

        let decided = uniqueName("decided")
        let decision = """
            {"event_id":"scale_\(decided)_1","function_id":"\(decided)","event_type":"scale_up","reason":"backlog_500_records",\
            "instances_before":1,"instances_after":2,"timestamp":"2026-11-27T12:00:00Z","autoscaler_version":"sluice-autoscaler-1","warm_processes":3}
            """
        _ = try await producer.send(
            ProducerRecord(topic: harness.scalingTopic, key: Array(decided.utf8), value: Array(decision.utf8)))
        let deployments = try await makeTestTopic("deployments", partitions: 1)
        var canary = DeployEvent(
            function: name, eventType: .canaryStarted, fromVersion: 1, toVersion: 2, reason: "sluice deploy --canary 20"
        )
        canary.canaryPercent = 20
        _ = try await producer.send(ProducerRecord(topic: deployments, key: Array(name.utf8), value: canary.encoded()))
        await producer.close()

        var options = DashboardState.Options()
        options.logTopic = harness.invocationLogTopic
        options.scalingTopic = harness.scalingTopic
        options.deploymentsTopic = deployments
        let workers = "workers-\(harness.invocationsTopic)"
        options.groups = [lagging, workers]
        let state = try DashboardState(connection: harness.connection, options: options)
        return DashboardFixture(
            harness: harness, function: name, topic: topic, lagging: lagging, workers: workers, decided: decided,
            worker: worker, state: state)
    }

    /// What the API does not show yet (nil: it shows it all): the function's 30 invocations (on version 1)
    /// and its canary, both groups, the worker as owner of its partitions (from its load samples), the
    /// decision and the deploy event.
    func missing(_ get: (String) async throws -> Any?) async throws -> String? {
        let functions = try await get("/api/functions") as? [[String: Any]] ?? []
        let lag = try await get("/api/lag") as? [[String: Any]] ?? []
        let decisions = try await get("/api/scaling") as? [[String: Any]] ?? []
        let deployments = try await get("/api/deployments") as? [[String: Any]] ?? []
        var missing: [String] = []
        let shown = functions.first { $0["function"] as? String == function }
        let invocations = shown?["invocations_total"]
        if invocations as? Int != 30 { missing.append("the function's invocations: \(invocations ?? "none")") }
        let versions = (shown?["versions"] as? [[String: Any]] ?? []).map {
            "\($0["version"] ?? "?")×\($0["invocations"] ?? "?")"
        }
        if versions != ["1×30"] { missing.append("its invocations by version: \(versions)") }
        let deploy = shown?["deploy"] as? [String: Any]
        if deploy?["state"] as? String != "baking" || deploy?["canary_percent"] as? Int != 20 {
            missing.append("its canary: \(String(describing: deploy))")
        }
        if !deployments.contains(where: {
            $0["function"] as? String == function && $0["event_type"] as? String == "canary_started"
        }) {
            missing.append("the deploy event")
        }
        let groups = Set(lag.compactMap { $0["group"] as? String })
        if groups != [lagging, workers] { missing.append("groups: \(groups.sorted())") }
        let owners = lag.filter { $0["group"] as? String == workers }.map { $0["owner"] as? String ?? "none" }
        if !owners.allSatisfy({ $0 == "test-worker" }) {
            missing.append("owners of the workers' partitions: \(owners)")
        }
        if !decisions.contains(where: { $0["function_id"] as? String == decided }) { missing.append("the decision") }
        return missing.isEmpty ? nil : missing.joined(separator: "; ")
    }

    /// Polls `missing` every 250 ms until nothing is, for at most `timeout`; the error names what was
    /// still missing.
    func waitUntilShown(timeout: Duration, _ get: @escaping @Sendable (String) async throws -> Any?) async throws {
        let last = Mutex<String?>("nothing read yet")
        do {
            try await withDeadline(timeout, "the dashboard showing the function, both groups and the decision") {
                while let missing = try await self.missing(get) {
                    last.withLock { $0 = missing }
                    try await Task.sleep(for: .milliseconds(250))
                }
            }
        } catch {
            Issue.record("still missing after \(timeout): \(last.withLock { $0 } ?? "")")
            throw error
        }
    }

    /// The lagging group's rows as `topic/partition committed end lag`.
    func positions(_ rows: [[String: Any]]) -> Set<String> {
        Set(
            rows.filter { $0["group"] as? String == lagging }.map {
                "\($0["topic"]!)/\($0["partition"]!) \($0["committed"]!) \($0["end"]!) \($0["lag"]!)"
            })
    }
}

@Suite("The dashboard's JSON API and its page in a real browser", .timeLimit(.minutes(4)))
struct DashboardTests {
    @Test(
        "The JSON API (Hummingbird's router test client): functions with versions and canary, lag with owners, decisions, deploy events; /api/lag matches sluice lag --json"
    )
    func api() async throws {
        let fixture = try await DashboardFixture.make()
        let sampling = Task { await fixture.state.run() }
        defer { sampling.cancel() }
        let app = DashboardServer.buildApplication(
            state: fixture.state, host: "127.0.0.1", port: 0, logger: Logger(label: "sluice.test"))
        try await app.test(.router) { client in
            @Sendable func get(_ uri: String) async throws -> Any? {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .ok, "\(uri): \(response.status)")
                    return try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))
                }
            }
            try await fixture.waitUntilShown(timeout: .seconds(60), get)
            let api = try await get("/api/lag") as? [[String: Any]] ?? []
            let cli = try await CommandRunner.sluice([
                "lag", "--group", fixture.lagging, "--json", "--interval", "0.2", "--brokers",
                fixture.harness.connection.brokerList,
            ])
            let cliRows = try #require(try JSONSerialization.jsonObject(with: cli.stdout) as? [[String: Any]])
            #expect(fixture.positions(api) == fixture.positions(cliRows))
            #expect(fixture.positions(api) == ["\(fixture.topic)/0 3 10 7", "\(fixture.topic)/1 10 10 0"])
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(
                    response.status == .ok && String(buffer: response.body).contains("# TYPE"),
                    "/metrics is not Prometheus text")
            }
        }
        await fixture.worker.stop()
    }

    @Test(
        "Headless Chromium renders topics, groups, the function panel with its 30 invocations and canary split, a lag chart, the decision and the deploy event"
    )
    func page() async throws {
        let fixture = try await DashboardFixture.make()
        let port = EmbeddedBroker.freePort()
        let server = Task { try await DashboardServer(state: fixture.state, port: port).run() }
        defer { server.cancel() }
        let base = "http://127.0.0.1:\(port)"
        try await fixture.waitUntilShown(timeout: .seconds(120)) { await fetchJSON(base + $0) }
        await fixture.worker.stop()

        let dom = try await chromium(["--dump-dom", base + "/"])
        #expect(
            dom.contains("data-group=\"\(fixture.lagging)\"") && dom.contains("data-group=\"\(fixture.workers)\""),
            "groups missing from the page")
        #expect(dom.contains("data-topic=\"\(fixture.topic)\""), "topic missing from the page")
        #expect(
            dom.contains("data-function=\"\(fixture.function)\" data-invocations=\"30\""),
            "the function panel lacks its 30 invocations")
        #expect(dom.contains("<svg"), "no lag chart")
        #expect(dom.contains("<td>\(fixture.decided)</td><td>scale_up</td>"), "the scaling decision is not on the page")
        #expect(
            dom.contains("data-deploy=\"\(fixture.function)\" data-event=\"canary_started\""),
            "the deploy event is not on the page")
        #expect(dom.contains("canary v2 20%"), "the function panel lacks its canary split")
        let screenshot = CommandRunner.packageRoot.appendingPathComponent(".build/dashboard-screenshot.png")
        try? FileManager.default.removeItem(at: screenshot)
        _ = try await chromium(["--screenshot=\(screenshot.path)", "--window-size=1400,1100", base + "/"])
        let size = (try? FileManager.default.attributesOfItem(atPath: screenshot.path)[.size] as? Int) ?? 0
        #expect(size > 10_000, "screenshot of \(size) bytes")
    }
}

func fetchJSON(_ url: String) async -> Any? {
    guard let url = URL(string: url), let (data, response) = try? await URLSession.shared.data(from: url),
        (response as? HTTPURLResponse)?.statusCode == 200
    else { return nil }
    return try? JSONSerialization.jsonObject(with: Data(data))
}
