import ArgumentParser
import Foundation
import SluiceFunctions
import SluiceKafka
import SluiceSupport

/// `sluice deploy PATH…`.
struct DeployCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Validate function manifests and publish them to the registry topic.",
        discussion: """
            Each manifest becomes the next version of its function on sluice.functions (key = name), with a \
            SHA-256 of its code folder. Running components pick it up live. A manifest identical to the \
            current version (same fields, same code) is reported unchanged unless --force. A folder deploys \
            every *.yaml in it. All manifests are validated before anything is published.

            Example:
              sluice deploy Config/functions/
            """
    )

    @Argument(help: "Manifest files or folders of them.") var paths: [String]
    @Flag(help: "Publish a new version even when nothing changed.") var force = false
    @Flag(help: "Print a JSON array of {name, version, code_hash, status}.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let platform = try PlatformConfiguration.loadProject()
        let manifests = try Self.manifestFiles(paths).map { try FunctionManifest.load(path: $0, platform: platform) }
        guard !manifests.isEmpty else { throw CLIError("no manifests (*.yaml) found in \(paths.joined(separator: " "))") }
        let kafka = connection.connection
        let registry = try await FunctionRegistry.load(connection: kafka)
        let producer = try KafkaProducer.make(ProducerConfiguration(connection: kafka))
        let deployer = FunctionDeployer(producer: producer, registry: registry)
        var report: [[String: Any]] = []
        for manifest in manifests {
            let outcome = try await deployer.deploy(manifest, force: force)
            switch outcome {
            case .deployed(let spec):
                report.append(["name": spec.name, "version": spec.version, "code_hash": spec.codeHash, "status": "deployed"])
                if !json { print("deployed \(spec.name) version \(spec.version) (\(spec.codeHash.prefix(19))…)") }
            case .unchanged(let spec):
                report.append(["name": spec.name, "version": spec.version, "code_hash": spec.codeHash, "status": "unchanged"])
                if !json { print("unchanged \(spec.name) version \(spec.version)") }
            }
        }
        await producer.close()
        await registry.close()
        if json { printJSON(report) }
    }

    /// Expands folders to their `*.yaml`/`*.yml` files, sorted.
    static func manifestFiles(_ paths: [String]) throws -> [String] {
        try paths.flatMap { path -> [String] in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw CLIError("\(path) does not exist")
            }
            guard isDirectory.boolValue else { return [path] }
            return try FileManager.default.contentsOfDirectory(atPath: path)
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
                .map { URL(fileURLWithPath: path).appendingPathComponent($0).path }
        }
    }
}

/// `sluice functions list|show|delete`.
struct FunctionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "functions",
        abstract: "Inspect and delete deployed functions.",
        discussion: "Example:\n  sluice functions show sha-echo --json",
        subcommands: [List.self, Show.self, Delete.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List deployed functions.", discussion: "Example:\n  sluice functions list --json")
        @OptionGroup var connection: ConnectionOptions
        @Flag(help: "Print a JSON array of registry records.") var json = false

        func run() async throws {
            let registry = try await FunctionRegistry.load(connection: connection.connection)
            let functions = registry.all
            await registry.close()
            if json {
                printJSON(try functions.map { try JSONSerialization.jsonObject(with: Data($0.encoded())) })
                return
            }
            if functions.isEmpty { print("no functions deployed; `sluice deploy Config/functions/` deploys the examples") }
            for spec in functions {
                let m = spec.manifest
                print("\(spec.name)  v\(spec.version)  tenant=\(m.tenant)  runtime=\(m.runtime.rawValue)  triggers=\(m.eventTriggers.joined(separator: ","))")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one function's current version.", discussion: "Example:\n  sluice functions show sha-echo")
        @Argument(help: "The function name.") var name: String
        @OptionGroup var connection: ConnectionOptions
        @Flag(help: "Print the registry record as JSON.") var json = false

        func run() async throws {
            let registry = try await FunctionRegistry.load(connection: connection.connection)
            let spec = registry.function(named: name)
            await registry.close()
            guard let spec else { throw CLIError("function \(name) is not deployed; `sluice functions list` shows what is") }
            let object = try JSONSerialization.jsonObject(with: Data(spec.encoded()))
            if json {
                printJSON(object)
            } else {
                let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a function (a tombstone on the registry topic).", discussion: "Example:\n  sluice functions delete sha-echo")
        @Argument(help: "The function name.") var name: String
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let kafka = connection.connection
            let registry = try await FunctionRegistry.load(connection: kafka)
            defer { Task { await registry.close() } }
            guard registry.function(named: name) != nil else { throw CLIError("function \(name) is not deployed") }
            let producer = try KafkaProducer.make(ProducerConfiguration(connection: kafka))
            try await FunctionDeployer(producer: producer, registry: registry).delete(name: name)
            await producer.close()
            print("deleted \(name)")
        }
    }
}
