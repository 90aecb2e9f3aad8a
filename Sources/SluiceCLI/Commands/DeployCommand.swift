import ArgumentParser
import SluiceFunctions
import SluiceRegistry

/// `sluice deploy PATH…`.
struct DeployCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Validate function manifests and publish them to the registry topic.",
        discussion: """
            Each manifest's code folder (and its dependencies folder, if it names one) is packed into a \
            deterministic archive, compressed with LZ4, named by its SHA-256 and published on sluice.artifacts \
            (an artifact the current version already has is not published again). The manifest becomes the \
            next version of its function on sluice.functions (key = name), signed with the deploy key; \
            running components pick it up live, and workers that trust the key fetch the artifact. A manifest \
            identical to the current version (same fields, same code) is reported unchanged unless --force. \
            A folder deploys every *.yaml in it. All manifests are validated before anything is published.

            With --canary N the new version takes N % of new invocations (by invocation id: retries and \
            replays stay on one version) beside the current one. The supervisor's canary judge compares \
            its error rate and warm p99 with the stable version's over the manifest's `deploy:` window and \
            promotes it after `bake_seconds` or rolls it back (defaults in Config/platform.yaml, \
            deploy.canary); `sluice promote NAME` and `sluice rollback NAME` decide by hand. Every deploy, \
            promotion and rollback is an event on sluice.deployments.

            Example:
              sluice deploy Config/functions/
              sluice deploy --signing-key ~/.sluice/deploy-key Config/functions/sha-echo.yaml
              sluice deploy --canary 10 Config/functions/sha-echo.yaml


            `sluice deploy status NAME [--json]` shows the state (stable, baking, promoted, rolled_back), the \
            versions and split, the canary's figures against the stable version's, and the latest deploy \
            event (a folder named status is given as ./status).
            """
    )

    @Argument(help: "Manifest files or folders of them.") var paths: [String]
    @Flag(help: "Publish a new version even when nothing changed.") var force = false
    @Option(help: "Send this percent (1-99) of new invocations to the new version, beside the current one.")
    var canary: Int?
    @Option(
        name: .customLong("signing-key"),
        help: "The deploy key file. Default: $SLUICE_SIGNING_KEY, else .run/signing-key (made by `make up`).")
    var signingKey: String?
    @Flag(help: "Print a JSON array of {name, version, code_hash, status}.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        if paths.first == "status" {
            guard paths.count == 2, canary == nil, !force, signingKey == nil else {
                throw ValidationError("usage: sluice deploy status NAME [--json]")
            }
        }
        if let canary, !(1...99).contains(canary) { throw ValidationError("--canary must be from 1 to 99") }
    }

    func run() async throws {
        if paths.first == "status" {
            return try await DeployStatus(name: paths[1], json: json, connection: connection.connection).run()
        }
        let platform = try PlatformConfiguration.loadProject()
        let manifests = try ManifestFiles.find(paths).map { try FunctionManifest.load(path: $0, platform: platform) }
        guard !manifests.isEmpty else {
            throw CLIError("no manifests (*.yaml) found in \(paths.joined(separator: " "))")
        }
        let key = try SigningKey.forDeploy(path: signingKey)
        let outcomes = try await FunctionDeployer.with(
            connection: connection.connection, signingKey: key, admission: SpecAdmission(platform: platform)
        ) { deployer in
            var outcomes: [FunctionDeployer.Outcome] = []
            for manifest in manifests {
                outcomes.append(try await deployer.deploy(manifest, force: force, canary: canary))
            }
            return outcomes
        }
        if json {
            printJSON(outcomes.map(\.jsonObject))
            return
        }
        for outcome in outcomes {
            switch outcome {
            case .deployed(let spec):
                let share = canary.map { ", canary: \($0) % of new invocations" } ?? ""
                print("deployed \(spec.name) version \(spec.version) (\(spec.codeHash.prefix(19))…)\(share)")
            case .unchanged(let spec): print("unchanged \(spec.name) version \(spec.version)")
            }
        }
    }
}
