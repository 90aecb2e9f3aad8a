import ArgumentParser
import SluiceRegistry

/// `sluice alias`.
struct AliasCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alias",
        abstract: "Point a named alias of a function at one of its versions, or remove it.",
        discussion: """
            `live` is the registry record's version (and its canary): what triggers and `sluice invoke` \
            run. A named alias points at one deployed version, as it was deployed and signed; `sluice \
            invoke NAME --alias A` (header sluice-alias) runs it, and its retries and replays stay on it. \
            Deploys, promotions and rollbacks move live and keep the aliases. Each change is a deploy \
            event on sluice.deployments; `sluice functions show NAME` lists the aliases.

            Example:
              sluice alias set sha-echo beta 3
              sluice alias remove sha-echo beta
            """,
        subcommands: [AliasSetCommand.self, AliasRemoveCommand.self])
}

struct AliasSetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Point ALIAS of a function at VERSION.",
        discussion: "Example:\n  sluice alias set sha-echo beta 3 --json")
    @Argument(help: "The function name.") var name: String
    @Argument(help: "The alias (1 to 32 of a-z, 0-9 and '-', not live).") var alias: String
    @Argument(help: "The version (`sluice functions versions NAME` lists them).") var version: Int
    @Flag(help: "Print {name, alias, version}.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let target = try await FunctionDeployer.refusing(connection: connection.connection) { deployer in
            try await deployer.setAlias(alias, of: name, to: version)
        }
        if json {
            printJSON(["name": name, "alias": alias, "version": target.version])
        } else {
            print("\(name): alias \(alias) runs version \(target.version)")
        }
    }
}

struct AliasRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Remove ALIAS of a function.",
        discussion: "Example:\n  sluice alias remove sha-echo beta")
    @Argument(help: "The function name.") var name: String
    @Argument(help: "The alias.") var alias: String
    @Flag(help: "Print {name, alias, version}.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let target = try await FunctionDeployer.refusing(connection: connection.connection) { deployer in
            try await deployer.removeAlias(alias, of: name)
        }
        if json {
            printJSON(["name": name, "alias": alias, "version": target.version])
        } else {
            print("\(name): alias \(alias) removed (it ran version \(target.version))")
        }
    }
}
