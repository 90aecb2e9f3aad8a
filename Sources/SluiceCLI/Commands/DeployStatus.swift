import SluiceKafka
import SluiceRegistry

/// `sluice deploy status NAME [--json]` (dispatched by `DeployCommand`: a subcommand beside its paths
/// argument is not reachable with ArgumentParser).
struct DeployStatus {
    let name: String
    let json: Bool
    let connection: KafkaConnection

    func run() async throws {
        let registry = try await FunctionRegistry.load(connection: connection, admission: .project())
        let spec = registry.function(named: name)
        await registry.close()
        guard let spec else { throw CLIError("function \(name) is not deployed") }
        let canary = spec.canary
        if json {
            printJSON(
                [
                    "name": name, "stable_version": spec.version, "canary_version": canary?.spec.version as Any,
                    "canary_percent": canary?.percent ?? 0, "canary_since": canary?.startedAt as Any,
                    "state": canary == nil ? "stable" : "baking",
                ] as [String: Any])
            return
        }
        if let canary {
            print(
                "\(name): baking — version \(canary.spec.version) takes \(canary.percent) % of new invocations since \(canary.startedAt), version \(spec.version) the rest"
            )
        } else {
            print("\(name): stable — version \(spec.version) takes every invocation")
        }
    }
}
