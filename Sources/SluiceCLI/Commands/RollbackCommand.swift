import ArgumentParser
import SluiceRegistry

/// `sluice rollback`.
struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Make an earlier version of a function current again.",
        discussion: """
            Republishes the version (by default the highest one below the current version) on \
            sluice.functions exactly as it was deployed and signed, from sluice.function-versions. Every \
            router and worker follows the registry, so it takes effect on all of them within a fetch (about \
            0.1 s); workers usually still have its artifacts. The next deploy gets a version above every \
            version ever deployed.

            Example:
              sluice rollback sha-echo
              sluice rollback sha-echo --to 3 --json
            """)

    @Argument(help: "The function name.") var name: String
    @Option(help: "The version to go back to. Default: the highest one below the current version.") var to: Int?
    @Flag(help: "Print {name, from_version, to_version, code_hash}.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let (from, to) = try await FunctionDeployer.refusing(connection: connection.connection) { deployer in
            try await deployer.rollback(name: name, to: self.to)
        }
        if json {
            printJSON(["name": name, "from_version": from.version, "to_version": to.version, "code_hash": to.codeHash])
        } else {
            print("rolled back \(name) from version \(from.version) to version \(to.version)")
        }
    }
}
