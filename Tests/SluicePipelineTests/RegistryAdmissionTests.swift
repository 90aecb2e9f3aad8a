import Foundation
import SluiceFunctions
import SluiceKafka
import SluiceRecords
import SluiceRegistry
import SluiceTesting
import Testing

/// Registry records written around `sluice deploy` (anyone with broker access can): the registry every
/// worker and router keeps refuses them, with a reason, and keeps the version it had.
@Suite("Workers trust no registry record", .timeLimit(.minutes(5)))
struct RegistryAdmissionTests {
    @Test(
        "Loading a registry whose partition ends with a transaction marker (no record at the high watermark - 1) ends, with the function"
    )
    func loadEndsAtATransactionMarker() async throws {
        let harness = try await PipelineHarness.make()
        let manifest = try harness.writeFunction(
            "name: \(uniqueName("marked"))\ntenant: acme\nruntime: python3\nhandler: handler.main\n",
            files: ["handler.py": "def main(event, context):\n    return event\n"])
        let spec = try await harness.deploy(manifest)
        let topic = try await makeTestTopic("registry-marked", partitions: 1, configs: ["cleanup.policy": "compact"])
        try TransactionalWriter.commit(
            [ProducerRecord(topic: topic, key: Array(spec.name.utf8), value: try spec.encoded())],
            connection: harness.connection)
        // The record is at offset 0 and the commit marker at 1: the end (2) is never a record's offset + 1.
        let marks = try await KafkaAdmin.highWatermarks(topics: [topic], connection: harness.connection)
        #expect(marks[TopicPartition(topic, 0)] == 2)
        let registry = try await withDeadline(.seconds(60), "loading the registry from \(topic)") {
            try await FunctionRegistry.load(connection: harness.connection, topic: topic, timeout: .seconds(30))
        }
        #expect(registry.function(named: spec.name) == spec)
        await registry.close()
    }

    @Test(
        "Forged records are refused with a reason: an artifact reference out of range, overflowing numbers, platform-topic triggers, network: host, an empty tenant, another tenant's name"
    )
    func forgedRecords() async throws {
        let harness = try await PipelineHarness.make()
        let (registry, follow) = try await harness.liveRegistry()
        defer { follow.cancel() }
        let name = try await harness.deployPython("victim", code: "def main(event, context):\n    return event\n")
        let deployed = try await withDeadline(.seconds(30), "the registry seeing \(name)") {
            while registry.function(named: name) == nil { await registry.waitForChange() }
            return registry.function(named: name)!
        }
        // The deployed code is a signed artifact, not the folder the manifest named (a worker runs the
        // artifact whatever code_path a record says: ArtifactDeployTests).
        #expect(deployed.manifest.codePath == "")
        #expect(deployed.artifact?.digest == deployed.codeHash && deployed.signature != nil)

        let forgeries: [(String, (inout [String: Any], inout [String: Any]) -> Void)] = [
            (
                "artifact reference is out of range",
                { record, _ in
                    var artifact = record["artifact"] as? [String: Any] ?? [:]
                    artifact["bytes"] = Int.max
                    record["artifact"] = artifact
                }
            ),
            ("cpu_millicores is out of range", { _, manifest in manifest["cpu_millicores"] = 92_233_720_368_547_758 }),
            ("timeout_seconds is out of range", { _, manifest in manifest["timeout_seconds"] = 1e300 }),
            (
                "retry.max_attempts is out of range",
                { _, manifest in
                    var retry = manifest["retry"] as? [String: Any] ?? [:]
                    retry["max_attempts"] = Int.max
                    manifest["retry"] = retry
                }
            ),
            ("platform topic", { _, manifest in manifest["event_triggers"] = ["sluice.results"] }),
            ("network: host is not allowed", { _, manifest in manifest["network"] = "host" }),
            ("is not a valid tenant", { _, manifest in manifest["tenant"] = "" }),
            ("belongs to tenant acme", { _, manifest in manifest["tenant"] = "mallory" }),
            ("version", { record, _ in record["version"] = Int.max }),
        ]
        // The registry topic is shared with tests running alongside: their refusals interleave with ours.
        var lastOffset: Int64 = -1
        for (reason, change) in forgeries {
            try await harness.forge(deployed, change)
            let refusal = try await withDeadline(.seconds(30), "the registry refusing a record (\(reason))") {
                [lastOffset] in
                while true {
                    if let ours = registry.refusals.first(where: { $0.key == name && $0.offset > lastOffset }) {
                        return ours
                    }
                    await registry.waitForChange()
                }
            }
            lastOffset = refusal.offset
            #expect(refusal.reason.contains(reason), "\(refusal.reason)")
            #expect(registry.function(named: name) == deployed, "a refused record changed \(name)")
        }
        // A record whose key is not its name, and one that does not decode.
        try await harness.forge(deployed, key: name + "-alias") { _, _ in }
        let aliased = try await withDeadline(.seconds(30), "the registry refusing an alias") {
            while true {
                if let alias = registry.refusals.first(where: { $0.key == name + "-alias" }) { return alias }
                await registry.waitForChange()
            }
        }
        #expect(aliased.reason.contains("is not its key"))
        #expect(registry.function(named: name + "-alias") == nil)
    }

    @Test("A name belongs to the tenant that deployed it: another tenant's deploy of it is refused")
    func nameOwnership() async throws {
        let harness = try await PipelineHarness.make()
        let name = uniqueName("owned")
        let body = { (tenant: String) in
            "name: \(name)\ntenant: \(tenant)\nruntime: python3\nhandler: handler.main\n"
        }
        let files = ["handler.py": "def main(event, context):\n    return event\n"]
        try await harness.deploy(try harness.writeFunction(body("acme"), files: files))
        await #expect(throws: DeployRefusal.self) {
            try await harness.deploy(try harness.writeFunction(body("mallory"), files: files))
        }
        let again = try await harness.deploy(try harness.writeFunction(body("acme"), files: files))
        #expect(again.version == 2)
    }
}
