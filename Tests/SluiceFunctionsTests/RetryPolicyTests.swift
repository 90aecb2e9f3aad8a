import Foundation
import SluiceFunctions
import SluiceSupport
import Testing

@Suite("Retry policies: parsing, backoff and jitter")
struct RetryPolicyTests {
    func policy(_ yaml: String, base: RetryPolicy = .standard) throws -> RetryPolicy {
        try base.applying(try YAMLFile(text: yaml, displayPath: "Config/platform.yaml").root)
    }

    func failure(_ yaml: String) -> ConfigurationError? {
        do {
            _ = try policy(yaml)
            return nil
        } catch {
            return error as? ConfigurationError
        }
    }

    @Test("Exponential backoff grows by the multiplier and stops at max_ms; linear and fixed as named")
    func backoffs() throws {
        let exponential = try policy("initial_ms: 200\nmultiplier: 2\nmax_ms: 1000")
        #expect((1...5).map { exponential.backoffMs(afterAttempt: $0) } == [200, 400, 800, 1000, 1000])
        let linear = try policy("backoff: linear\ninitial_ms: 100")
        #expect((1...3).map { linear.backoffMs(afterAttempt: $0) } == [100, 200, 300])
        let fixed = try policy("backoff: fixed\ninitial_ms: 250")
        #expect((1...3).map { fixed.backoffMs(afterAttempt: $0) } == [250, 250, 250])
        #expect(try policy("max_attempts: 3\ninitial_ms: 100\nmultiplier: 3").worstCaseSpanMs == 100 + 300)
    }

    @Test("Jitter: none is exact, full stays in [0, backoff], equal in [backoff/2, backoff]")
    func jitter() throws {
        var generator = SystemRandomNumberGenerator()
        let none = try policy("jitter: none\ninitial_ms: 400")
        #expect(none.delayMs(afterAttempt: 1, using: &generator) == 400)
        let full = try policy("jitter: full\ninitial_ms: 400")
        let equal = try policy("jitter: equal\ninitial_ms: 400")
        for _ in 0..<500 {
            #expect((0...400).contains(full.delayMs(afterAttempt: 1, using: &generator)))
            #expect((200...400).contains(equal.delayMs(afterAttempt: 1, using: &generator)))
        }
    }

    @Test("Fields override the base one by one; bad values name file, line and field")
    func parsing() throws {
        let base = try policy("max_attempts: 7\nretry_on: [timeout]")
        let merged = try policy("initial_ms: 50", base: base)
        #expect(merged.maxAttempts == 7 && merged.retryOn == [.timeout] && merged.initialMs == 50)
        #expect(
            failure("max_attempts: 0")?.description
                == "Config/platform.yaml:1: field 'max_attempts': 0 is out of range 1…100")
        #expect(
            failure("backoff: quadratic")?.description.contains(
                "field 'backoff': 'quadratic' is not one of exponential, linear, fixed") == true)
        #expect(failure("retry_on: [timeout, flaky]")?.description.contains("field 'retry_on[1]'") == true)
        #expect(failure("retry_on: [rejected]")?.description.contains("never retried") == true)
        #expect(
            failure("initial_ms: 500\nmax_ms: 100")?.description.contains("max_ms (100) is below initial_ms (500)")
                == true)
        #expect(failure("max_attempt: 3")?.description.contains("unknown key") == true)
    }

    @Test("Config/platform.yaml of the repository loads and matches the documented defaults")
    func projectPlatformFile() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let platform = try PlatformConfiguration.load(path: root.appendingPathComponent("Config/platform.yaml").path)
        #expect(platform.retry == RetryPolicy.standard)
        #expect(platform.maxEventBytes == 262_144)
        #expect(platform.standbyProcesses == 8)
    }

    @Test("sandbox.standby_processes: 0 turns fast starts off; a negative or huge count names file, line and field")
    func standbyProcesses() throws {
        func parse(_ value: String) throws -> PlatformConfiguration {
            try PlatformConfiguration.parse(
                YAMLFile(text: "sandbox:\n  standby_processes: \(value)\n", displayPath: "Config/platform.yaml"))
        }
        #expect(try parse("0").standbyProcesses == 0)
        #expect(try parse("32").standbyProcesses == 32)
        for bad in ["-1", "1001", "many"] {
            let error = #expect(throws: ConfigurationError.self) { try parse(bad) }
            let text = error.map { "\($0)" } ?? ""
            #expect(text.contains("Config/platform.yaml:2"), "\(text)")
            #expect(text.contains("standby_processes"), "\(text)")
        }
    }

    @Test(
        "deploy.trusted_keys and limits.max_artifact_bytes are read and checked; a wrong key names file, line and field"
    )
    func deploySettings() throws {
        func parse(_ text: String) throws -> PlatformConfiguration {
            try PlatformConfiguration.parse(YAMLFile(text: text, displayPath: "Config/platform.yaml"))
        }
        let key = SigningKey().publicKey
        let parsed = try parse("limits:\n  max_artifact_bytes: 1048576\ndeploy:\n  trusted_keys: [\(key)]\n")
        #expect(parsed.maxArtifactBytes == 1_048_576)
        #expect(parsed.trustedKeys == [key])
        #expect(try parse("deploy:\n  trusted_keys: []\n").trustedKeys.isEmpty)
        #expect(try PlatformConfiguration.loadProject().maxArtifactBytes == 64 << 20)
        for bad in ["deploy:\n  trusted_keys: [not-a-key]\n", "deploy:\n  trusted_keys: [\(key.dropLast(4))]\n"] {
            let error = #expect(throws: ConfigurationError.self) { try parse(bad) }
            let text = error.map { "\($0)" } ?? ""
            #expect(text.contains("Config/platform.yaml:2") && text.contains("trusted_keys"), "\(text)")
            #expect(text.contains("is not a public key"), "\(text)")
        }
        let small = #expect(throws: ConfigurationError.self) { try parse("limits:\n  max_artifact_bytes: 10\n") }
        #expect(small.map { "\($0)" }?.contains("max_artifact_bytes") == true)
    }
}
