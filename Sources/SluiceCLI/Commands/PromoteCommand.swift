import ArgumentParser
import SluiceRegistry

/// `sluice promote`.
struct PromoteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promote",
        abstract: "Make a function's baking canary its current version.",
        discussion: """
            The canary (from `sluice deploy --canary N`) then takes every new invocation; the previous \
            version's warm processes drain and retire. `sluice rollback NAME` goes back.

            Example:
              sluice promote sha-echo
            """)
    @Argument(help: "The function name.") var name: String
    @Flag(help: "Print {name, from_version, to_version}.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let (from, to) = try await FunctionDeployer.with(connection: connection.connection) { deployer in
            do {
                return try await deployer.promote(name: name)
            } catch let refusal as DeployRefusal {
                throw CLIError(refusal.message)
            }
        }
        if json {
            printJSON(["name": name, "from_version": from.version, "to_version": to.version])
        } else {
            print("promoted \(name) version \(to.version) (was version \(from.version))")
        }
    }
}
