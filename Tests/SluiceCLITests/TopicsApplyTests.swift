import Foundation
import SluiceTesting
import Testing

@Suite("bin/sluice topics apply against the embedded broker", .timeLimit(.minutes(2)))
struct TopicsApplyTests {
    func writeTopics(_ yaml: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("topics"))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try yaml.write(to: folder.appendingPathComponent("test.yaml"), atomically: true, encoding: .utf8)
        return folder
    }

    @Test("apply creates, a second apply is a no-op, changed partitions are drift with exit 1")
    func applyTwiceThenDrift() async throws {
        let brokers = try await TestBroker.address()
        let a = uniqueName("apply-a")
        let b = uniqueName("apply-b")
        let folder = try writeTopics(
            """
            topics:
              - name: \(a)
                partitions: 3
                configs:
                  cleanup.policy: compact
              - name: \(b)
                partitions: 2
            """)
        let dry = try await CommandRunner.sluice([
            "topics", "apply", "--dry-run", "--topics-dir", folder.path, "--brokers", brokers,
        ])
        #expect(dry.status == 0)
        #expect(dry.output.contains("would create \(a)"))

        let first = try await CommandRunner.sluice([
            "topics", "apply", "--topics-dir", folder.path, "--brokers", brokers,
        ])
        #expect(first.status == 0, "\(first.errors)")
        #expect(first.output.contains("created \(a) (3 partitions, cleanup.policy=compact)"))
        #expect(first.output.contains("created \(b) (2 partitions)"))

        let second = try await CommandRunner.sluice([
            "topics", "apply", "--json", "--topics-dir", folder.path, "--brokers", brokers,
        ])
        #expect(second.status == 0, "\(second.errors)")
        let report = try #require(try JSONSerialization.jsonObject(with: second.stdout) as? [String: Any])
        #expect((report["create"] as? [String])?.isEmpty == true)
        #expect((report["drift"] as? [Any])?.isEmpty == true)
        #expect(Set(report["matching"] as? [String] ?? []) == [a, b])

        _ = try writeTopics("")  // a fresh folder keeps the first one untouched
        try """
        topics:
          - name: \(a)
            partitions: 5
            configs:
              cleanup.policy: compact
          - name: \(b)
            partitions: 2
        """.write(to: folder.appendingPathComponent("test.yaml"), atomically: true, encoding: .utf8)
        let drift = try await CommandRunner.sluice([
            "topics", "apply", "--topics-dir", folder.path, "--brokers", brokers,
        ])
        #expect(drift.status == 1)
        #expect(drift.output.contains("drift \(a): partitions is 5 in"))
        #expect(drift.output.contains("but 3 on the cluster"))
    }

    @Test("bad YAML names the file and line")
    func badYAML() async throws {
        let folder = try writeTopics("topics:\n  - name: x\n    partitions: [3\n")
        let result = try await CommandRunner.sluice(["topics", "apply", "--topics-dir", folder.path])
        #expect(result.status != 0)
        let folderName = folder.lastPathComponent
        #expect(result.errors.contains("\(folderName)/test.yaml:"))
        #expect(result.errors.contains("invalid YAML"))
        let unknown = try writeTopics("topics:\n  - name: x\n    partitons: 3\n")
        let second = try await CommandRunner.sluice(["topics", "apply", "--topics-dir", unknown.path])
        #expect(
            second.errors.contains("\(unknown.lastPathComponent)/test.yaml:3: field 'topics[0].partitons': unknown key")
        )
    }
}
