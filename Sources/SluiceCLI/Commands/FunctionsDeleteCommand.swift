import ArgumentParser
import SluiceRegistry

/// `sluice functions delete`.
struct FunctionsDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete a function (a tombstone on the registry topic).",
        discussion: "Example:\n  sluice functions delete sha-echo")
    @Argument(help: "The function name.") var name: String
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await FunctionDeployer.with(connection: connection.connection) { deployer in
            guard deployer.registry.function(named: name) != nil else {
                throw CLIError("function \(name) is not deployed")
            }
            try await deployer.delete(name: name)
        }
        print("deleted \(name)")
    }
}
