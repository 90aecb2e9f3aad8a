import Foundation
import SluiceKafka
import SluiceTesting
import Testing

@Suite("bin/sluice deploy, functions and invoke", .timeLimit(.minutes(3)))
struct DeployInvokeTests {
    @Test("A bad manifest is refused naming file and field, and nothing is deployed")
    func badManifest() async throws {
        let brokers = try await TestBroker.address()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("bad"))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let name = uniqueName("never")
        try "name: \(name)\ntenant: acme\nruntime: cobol\nhandler: x\ncode: .\n".write(
            to: folder.appendingPathComponent("f.yaml"), atomically: true, encoding: .utf8)
        let result = try await CommandRunner.sluice(["deploy", folder.path, "--brokers", brokers])
        #expect(result.status != 0)
        #expect(result.errors.contains("f.yaml:3: field 'runtime': unknown runtime 'cobol'"))
        let show = try await CommandRunner.sluice(["functions", "show", name, "--brokers", brokers])
        #expect(show.status != 0)
        #expect(show.errors.contains("function \(name) is not deployed"))
    }

    @Test(
        "signing-key create writes a key of mode 0600 and prints its public key, never overwrites; deploy names a missing or exposed key"
    )
    func signingKeys() async throws {
        let brokers = try await TestBroker.address()
        let function = try PythonFunctionFolder("keys", name: uniqueName("signed"))
        let (folder, manifest) = (function.folder, function.manifest)
        let key = folder.appendingPathComponent("deploy-key").path

        let made = try await CommandRunner.sluice(["signing-key", "create", "--out", key, "--json"])
        #expect(made.status == 0, "\(made.errors)")
        let object = try #require(try JSONSerialization.jsonObject(with: made.stdout) as? [String: Any])
        let publicKey = try #require(object["public_key"] as? String)
        #expect(Data(base64Encoded: publicKey)?.count == 32)
        let mode = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let again = try await CommandRunner.sluice(["signing-key", "create", "--out", key])
        #expect(again.status != 0 && again.errors.contains("cannot create \(key)"), "\(again.errors)")

        let missing = try await CommandRunner.sluice([
            "deploy", manifest, "--signing-key", key + ".missing", "--brokers", brokers,
        ])
        #expect(missing.status != 0 && missing.errors.contains("sluice signing-key create"), "\(missing.errors)")
        chmod(key, 0o644)
        let exposed = try await CommandRunner.sluice(["deploy", manifest, "--signing-key", key, "--brokers", brokers])
        #expect(exposed.status != 0 && exposed.errors.contains("readable by others"), "\(exposed.errors)")
        chmod(key, 0o600)
        let signed = try await CommandRunner.sluice(["deploy", manifest, "--signing-key", key, "--brokers", brokers])
        #expect(signed.status == 0 && signed.output.contains("deployed"), "\(signed.errors)")
    }

    @Test(
        "rollback makes the previous version current as it was deployed; versions are never reused; a wrong --to names the versions; prune forgets old ones; aliases are set, shown and removed"
    )
    func rollback() async throws {
        let brokers = try await TestBroker.address()
        let function = try PythonFunctionFolder("rollback")
        let (name, manifest) = (function.name, function.manifest)
        func deploy(_ answer: Int) async throws -> [String: Any] {
            try function.answer(answer)
            let result = try await CommandRunner.sluice(["deploy", manifest, "--json", "--brokers", brokers])
            #expect(result.status == 0, "\(result.errors)")
            return try #require((try JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]])?.first)
        }
        func shown() async throws -> [String: Any] {
            let show = try await CommandRunner.sluice(["functions", "show", name, "--json", "--brokers", brokers])
            return try #require(try JSONSerialization.jsonObject(with: show.stdout) as? [String: Any])
        }
        let first = try await deploy(1)
        _ = try await deploy(2)
        let rolled = try await CommandRunner.sluice(["rollback", name, "--json", "--brokers", brokers])
        #expect(rolled.status == 0, "\(rolled.errors)")
        let report = try #require(try JSONSerialization.jsonObject(with: rolled.stdout) as? [String: Any])
        #expect(report["from_version"] as? Int == 2 && report["to_version"] as? Int == 1, "\(report)")
        let current = try await shown()
        #expect(current["version"] as? Int == 1)
        #expect(current["code_hash"] as? String == first["code_hash"] as? String)
        #expect(current["signature"] != nil)
        // The next deploy is version 3, not a second version 2.
        #expect(try await deploy(3)["version"] as? Int == 3)
        let wrong = try await CommandRunner.sluice(["rollback", name, "--to", "99", "--brokers", brokers])
        #expect(wrong.status != 0 && wrong.errors.contains("has no version 99 (versions: 1, 2, 3)"), "\(wrong.errors)")
        let back = try await CommandRunner.sluice(["rollback", name, "--to", "2", "--brokers", brokers])
        #expect(back.output.contains("rolled back \(name) from version 3 to version 2"), "\(back.errors)")
        let listed = try await CommandRunner.sluice(["functions", "versions", name, "--json", "--brokers", brokers])
        let versions = try #require(try JSONSerialization.jsonObject(with: listed.stdout) as? [[String: Any]])
        #expect(versions.compactMap { $0["version"] as? Int } == [1, 2, 3], "\(listed.output)\(listed.errors)")
        #expect(versions.filter { $0["current"] as? Bool == true }.compactMap { $0["version"] as? Int } == [2])
        // Prune keeps the current version (2) and the newest (3); version 1 is forgotten.
        let pruned = try await CommandRunner.sluice([
            "functions", "prune", name, "--keep", "1", "--json", "--brokers", brokers,
        ])
        let prunedReport = try #require(try JSONSerialization.jsonObject(with: pruned.stdout) as? [String: Any])
        #expect(prunedReport["pruned"] as? [Int] == [1], "\(pruned.output)\(pruned.errors)")
        let gone = try await CommandRunner.sluice(["rollback", name, "--to", "1", "--brokers", brokers])
        #expect(gone.status != 0 && gone.errors.contains("has no version 1 (versions: 2, 3)"), "\(gone.errors)")
        #expect(try await deploy(4)["version"] as? Int == 4, "a pruned history still never reuses a version")
        // Aliases: set on a kept version, shown by deploy status, refused with reasons, removed.
        func sluice(_ arguments: [String]) async throws -> CommandResult {
            try await CommandRunner.sluice(arguments + ["--brokers", brokers])
        }
        let set = try await sluice(["alias", "set", name, "beta", "2", "--json"])
        let setReport = try JSONSerialization.jsonObject(with: set.stdout) as? [String: Any]
        #expect(setReport?["version"] as? Int == 2 && setReport?["alias"] as? String == "beta", "\(set.errors)")
        let status = try await sluice(["deploy", "status", name, "--json"])
        let aliases = (try JSONSerialization.jsonObject(with: status.stdout) as? [String: Any])?["aliases"]
        #expect(aliases as? [String: Int] == ["beta": 2], "\(status.output)")
        let live = try await sluice(["alias", "set", name, "live", "2"])
        #expect(live.status != 0 && live.errors.contains("is not an alias name"), "\(live.errors)")
        let unknown = try await sluice(["alias", "set", name, "beta", "1"])
        #expect(
            unknown.status != 0 && unknown.errors.contains("has no version 1 (versions: 2, 3, 4)"), "\(unknown.errors)")
        let nope = try await sluice(["invoke", name, "--alias", "nope", "--wait", "5"])
        #expect(nope.status != 0 && nope.errors.contains("has no alias nope (aliases: live, beta)"), "\(nope.errors)")
        #expect(try await sluice(["alias", "remove", name, "beta"]).status == 0)
        let again = try await sluice(["alias", "remove", name, "beta"])
        #expect(again.status != 0 && again.errors.contains("has no alias beta (aliases: none)"), "\(again.errors)")
    }

    @Test(
        "deploy --canary bakes a version beside the current one; deploy status shows the split; promote and rollback end it, told as deploy events"
    )
    func canary() async throws {
        let brokers = try await TestBroker.address()
        let function = try PythonFunctionFolder("canary")
        let (name, manifest) = (function.name, function.manifest)
        func deploy(_ answer: Int, _ extra: [String] = []) async throws -> CommandResult {
            try function.answer(answer)
            return try await CommandRunner.sluice(["deploy", manifest, "--brokers", brokers] + extra)
        }
        func status() async throws -> [String: Any] {
            let result = try await CommandRunner.sluice(["deploy", "status", name, "--json", "--brokers", brokers])
            #expect(result.status == 0, "\(result.errors)")
            return try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        }
        let alone = try await deploy(1, ["--canary", "25"])
        #expect(alone.status != 0 && alone.errors.contains("a canary needs a current version"), "\(alone.errors)")
        #expect(try await deploy(1).status == 0)
        let baking = try await deploy(2, ["--canary", "25"])
        #expect(baking.output.contains("canary: 25 % of new invocations"), "\(baking.output)\(baking.errors)")
        var now = try await status()
        #expect(now["state"] as? String == "baking" && now["stable_version"] as? Int == 1, "\(now)")
        #expect(now["canary_version"] as? Int == 2 && now["canary_percent"] as? Int == 25, "\(now)")
        let promoted = try await CommandRunner.sluice(["promote", name, "--brokers", brokers])
        #expect(promoted.output.contains("promoted \(name) version 2 (was version 1)"), "\(promoted.errors)")
        now = try await status()
        #expect(now["state"] as? String == "promoted" && now["stable_version"] as? Int == 2, "\(now)")
        let promotion = now["last_event"] as? [String: Any]
        #expect(promotion?["decided_by"] as? String == "operator" && promotion?["from_version"] as? Int == 1, "\(now)")
        let again = try await CommandRunner.sluice(["promote", name, "--brokers", brokers])
        #expect(again.status != 0 && again.errors.contains("has no canary to promote"), "\(again.errors)")
        #expect(try await deploy(3, ["--canary", "50"]).status == 0)
        let rolled = try await CommandRunner.sluice(["rollback", name, "--brokers", brokers])
        #expect(rolled.output.contains("from version 3 to version 2"), "\(rolled.output)\(rolled.errors)")
        now = try await status()
        #expect(now["state"] as? String == "rolled_back" && now["stable_version"] as? Int == 2, "\(now)")
        #expect((now["last_event"] as? [String: Any])?["reason"] as? String == "sluice rollback", "\(now)")
        let table = try await CommandRunner.sluice(["deploy", "status", name, "--brokers", brokers])
        #expect(table.output.contains("rolled_back — version 2 takes every invocation (operator"), "\(table.output)")
        let badShare = try await deploy(4, ["--canary", "100"])
        #expect(badShare.status != 0 && badShare.errors.contains("--canary must be from 1 to 99"))
    }

    @Test("invoke of an unknown function is a clear error and publishes nothing")
    func invokeUnknown() async throws {
        let connection = try await TestBroker.connection()
        let admin = try KafkaAdmin.make(connection)
        let before = try await admin.highWatermarks(topics: ["sluice.invocations"])
        let name = uniqueName("ghost")
        let result = try await CommandRunner.sluice([
            "invoke", name, "--data", "{}", "--brokers", connection.brokerList,
        ])
        let after = try await admin.highWatermarks(topics: ["sluice.invocations"])
        await admin.close()
        #expect(result.status != 0)
        #expect(result.errors.contains("function \(name) is not deployed; nothing was published"))
        #expect(before == after)
    }

    @Test("deploy publishes versions, skips unchanged manifests, and delete removes the function")
    func deployVersions() async throws {
        let brokers = try await TestBroker.address()
        let function = try PythonFunctionFolder("deploy")
        let name = function.name
        let manifest = URL(fileURLWithPath: function.manifest)

        let first = try await CommandRunner.sluice(["deploy", manifest.path, "--brokers", brokers])
        #expect(first.output.contains("deployed \(name) version 1"), "\(first.errors)")
        let again = try await CommandRunner.sluice(["deploy", manifest.path, "--brokers", brokers])
        #expect(again.output.contains("unchanged \(name) version 1"))
        try function.answer(2)
        let changed = try await CommandRunner.sluice(["deploy", manifest.path, "--json", "--brokers", brokers])
        let report = try #require(try JSONSerialization.jsonObject(with: changed.stdout) as? [[String: Any]])
        #expect(report.first?["version"] as? Int == 2)
        #expect(report.first?["status"] as? String == "deployed")

        let shown = try await CommandRunner.sluice(["functions", "show", name, "--json", "--brokers", brokers])
        let record = try #require(try JSONSerialization.jsonObject(with: shown.stdout) as? [String: Any])
        #expect(record["version"] as? Int == 2)
        #expect((record["code_hash"] as? String)?.hasPrefix("sha256:") == true)
        let deleted = try await CommandRunner.sluice(["functions", "delete", name, "--brokers", brokers])
        #expect(deleted.status == 0)
        let list = try await CommandRunner.sluice(["functions", "list", "--json", "--brokers", brokers])
        #expect(!list.output.contains(name))
    }
}

/// A python3 function `h.main` of tenant acme in a fresh folder: `fn.yaml`, and `code/h.py` returning
/// what `answer` last wrote.
private struct PythonFunctionFolder {
    let name: String
    let folder: URL
    /// The manifest's path.
    let manifest: String

    init(_ prefix: String, name: String = uniqueName("fn"), answer: Int = 1) throws {
        self.name = name
        folder = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName(prefix))
        manifest = folder.appendingPathComponent("fn.yaml").path
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("code"), withIntermediateDirectories: true)
        try "name: \(name)\ntenant: acme\nruntime: python3\nhandler: h.main\ncode: code\n".write(
            toFile: manifest, atomically: true, encoding: .utf8)
        try self.answer(answer)
    }

    /// Makes the handler return `value`.
    func answer(_ value: Int) throws {
        try "def main(e, c):\n    return \(value)\n".write(
            to: folder.appendingPathComponent("code/h.py"), atomically: true, encoding: .utf8)
    }
}
