import Foundation
import SluiceFunctions
import SluiceSupport
import SluiceTesting
import Testing

@Suite("Function manifests are validated on load")
struct FunctionManifestTests {
    let folder: URL = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("manifests"))
        try? FileManager.default.createDirectory(
            at: folder.appendingPathComponent("code"), withIntermediateDirectories: true)
        try? "def main(e, c):\n    return e\n".write(
            to: folder.appendingPathComponent("code/handler.py"), atomically: true, encoding: .utf8)
        return folder
    }()

    func load(_ yaml: String) throws -> FunctionManifest {
        let path = folder.appendingPathComponent("\(uniqueName("m")).yaml")
        try yaml.write(to: path, atomically: true, encoding: .utf8)
        return try FunctionManifest.load(path: path.path)
    }

    func failure(_ yaml: String) -> ConfigurationError? {
        do {
            _ = try load(yaml)
            return nil
        } catch {
            return error as? ConfigurationError
        }
    }

    @Test("A valid manifest loads with defaults and an absolute code path")
    func valid() throws {
        let manifest = try load(
            "name: ok\ntenant: acme\nruntime: python3\nhandler: handler.main\ncode: code\nevent_triggers: [a, b]\n")
        #expect(manifest.codePath == folder.appendingPathComponent("code").standardizedFileURL.path)
        #expect(manifest.ordering == .key)
        #expect(manifest.eventTriggers == ["a", "b"])
        #expect(manifest.timeoutSeconds == 30)
    }

    @Test("Missing field, wrong type, unknown runtime, unknown key, missing code: file, line and field are named")
    func invalid() {
        let base = "name: x\ntenant: acme\nruntime: python3\nhandler: handler.main\ncode: code\n"
        let missing = failure("name: x\nruntime: python3\nhandler: handler.main\ncode: code\n")
        #expect(missing?.field == "tenant")
        #expect(missing?.message == "is required but missing")
        #expect(missing?.file.hasSuffix(".yaml") == true)
        let wrongType = failure(base + "memory_mb: lots\n")
        #expect(wrongType?.field == "memory_mb")
        #expect(wrongType?.line == 6)
        #expect(wrongType?.description.contains("expected a whole number") == true)
        let runtime = failure(base.replacingOccurrences(of: "python3", with: "cobol"))
        #expect(runtime?.field == "runtime")
        #expect(runtime?.line == 3)
        #expect(runtime?.message.contains("unknown runtime 'cobol'") == true)
        #expect(failure(base + "colour: blue\n")?.field == "colour")
        #expect(failure(base.replacingOccurrences(of: "code: code", with: "code: nowhere"))?.field == "code")
        #expect(failure(base.replacingOccurrences(of: "handler.main", with: "missing.main"))?.field == "handler")
        #expect(failure(base.replacingOccurrences(of: "name: x", with: "name: Bad_Name"))?.field == "name")
        #expect(failure(base + "ordering: random\n")?.field == "ordering")
        #expect(failure(base + "event_triggers: orders\n")?.field == "event_triggers")
    }

    @Test("Sandbox fields: defaults, values, ranges; isolation: none only where the platform allows it")
    func sandboxFields() throws {
        let base = "name: x\ntenant: acme\nruntime: python3\nhandler: handler.main\ncode: code\n"
        let defaults = try load(base)
        #expect(defaults.isolation == .sandbox && defaults.network == .none)
        #expect(defaults.tmpMB == 64 && defaults.pidsMax == 64 && defaults.openFiles == 256)
        // (network: host needs the platform's consent: `hostNetworkAllowed`, `refusedAtDeploy`.)
        let set = try load(base + "network: none\ntmp_mb: 8\npids_max: 16\nopen_files: 32\n")
        #expect(set.network == .none && set.tmpMB == 8 && set.pidsMax == 16 && set.openFiles == 32)
        #expect(failure(base + "network: internet\n")?.field == "network")
        #expect(failure(base + "pids_max: 1\n")?.description.contains("out of range") == true)
        let refused = failure(base + "isolation: none\n")
        #expect(refused?.field == "isolation")
        #expect(refused?.message.contains("sandbox.allow_isolation_none: true") == true)
        var permissive = PlatformConfiguration.standard
        permissive.allowIsolationNone = true
        let path = folder.appendingPathComponent("\(uniqueName("m")).yaml")
        try (base + "isolation: none\n").write(to: path, atomically: true, encoding: .utf8)
        #expect(
            try FunctionManifest.load(path: path.path, platform: permissive).isolation
                == FunctionManifest.Isolation.none)
    }

    @Test("The example manifests in Config/functions load")
    func examples() throws {
        let folder = CommandRunner.packageRoot.appendingPathComponent("Config/functions")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }
        #expect(files.count >= 2)
        let manifests = try files.map { try FunctionManifest.load(path: folder.appendingPathComponent($0).path) }
        #expect(Set(manifests.map(\.runtime)) == [.python3, .exec])
    }

    @Test("Platform topics as triggers, network: host, an empty tenant and a bad environment are refused at deploy")
    func refusedAtDeploy() {
        let base = "name: x\ntenant: acme\nruntime: python3\nhandler: handler.main\ncode: code\n"
        for topic in ["sluice.results", "sluice.functions", "sluice.retry.1s", "__consumer_offsets", "a b"] {
            let error = failure(base + "event_triggers: [orders, '\(topic)']\n")
            #expect(error?.field == "event_triggers", "\(topic)")
        }
        #expect(failure(base + "event_triggers: [sluice.results]\n")?.message.contains("platform topic") == true)
        let host = failure(base + "network: host\n")
        #expect(host?.field == "network")
        #expect(host?.message.contains("sandbox.allow_host_network") == true)
        #expect(failure(base.replacingOccurrences(of: "tenant: acme", with: "tenant: ''"))?.field == "tenant")
        #expect(failure(base + "environment_vars:\n  '1BAD': x\n")?.field == "environment_vars")
    }

    @Test("network: host loads where the platform allows it")
    func hostNetworkAllowed() throws {
        var platform = PlatformConfiguration()
        platform.allowHostNetwork = true
        let path = folder.appendingPathComponent("\(uniqueName("m")).yaml")
        try "name: x\ntenant: acme\nruntime: python3\nhandler: handler.main\ncode: code\nnetwork: host\n".write(
            to: path, atomically: true, encoding: .utf8)
        #expect(try FunctionManifest.load(path: path.path, platform: platform).network == .host)
    }

    @Test("predictive_prewarm: absent means yes, false opts out, a non-boolean names the field; old records decode")
    func predictivePrewarm() throws {
        let base = "name: ok\ntenant: acme\nruntime: python3\nhandler: handler.main\ncode: code\n"
        #expect(try load(base).predictivePrewarm == nil)
        #expect(try load(base + "predictive_prewarm: false\n").predictivePrewarm == false)
        let error = failure(base + "predictive_prewarm: sometimes\n")
        #expect(error?.field.contains("predictive_prewarm") == true, "\(String(describing: error))")
        // A registry record written before the field existed still decodes.
        var manifest = try load(base)
        manifest.predictivePrewarm = nil
        let json = try JSONEncoder().encode(manifest)
        #expect(!String(decoding: json, as: UTF8.self).contains("predictive_prewarm"))
        #expect(try JSONDecoder().decode(FunctionManifest.self, from: json).predictivePrewarm == nil)
    }
}
