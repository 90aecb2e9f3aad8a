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
        let (from, to) = try await FunctionDeployer.refusing(connection: connection.connection) { deployer in
            try await deployer.promote(name: name)
        }
        if json {
            printJSON(["name": name, "from_version": from.version, "to_version": to.version])
        } else {
            print("promoted \(name) version \(to.version) (was version \(from.version))")
        }
    }
}
