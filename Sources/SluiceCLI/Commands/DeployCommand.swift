import ArgumentParser
import SluiceFunctions
import SluiceRegistry

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
        let manifests = try ManifestFiles.find(paths).map { try FunctionManifest.load(path: $0, platform: platform) }
        guard !manifests.isEmpty else {
            throw CLIError("no manifests (*.yaml) found in \(paths.joined(separator: " "))")
        }
        let outcomes = try await FunctionDeployer.with(
            connection: connection.connection, admission: SpecAdmission(platform: platform)
        ) { deployer in
            var outcomes: [FunctionDeployer.Outcome] = []
            for manifest in manifests { outcomes.append(try await deployer.deploy(manifest, force: force)) }
            return outcomes
        }
        if json {
            printJSON(outcomes.map(\.jsonObject))
            return
        }
        for outcome in outcomes {
            switch outcome {
            case .deployed(let spec):
                print("deployed \(spec.name) version \(spec.version) (\(spec.codeHash.prefix(19))…)")
            case .unchanged(let spec): print("unchanged \(spec.name) version \(spec.version)")
            }
        }
    }
}
