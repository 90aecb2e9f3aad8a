import ArgumentParser
import SluiceRegistry

/// `sluice functions prune`.
struct FunctionsPruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Forget old versions of a function (what `sluice rollback --to` can go back to).",
        discussion: """
            Writes tombstones on sluice.function-versions for every version but the current one, its \
            canary and the newest --keep (compaction then removes them). The newest version is always \
            kept, so a later deploy still gets a version never used before. Running versions and their \
            artifacts are not touched.

            Example:
              sluice functions prune sha-echo --keep 3 --json
            """)
    @Argument(help: "The function name.") var name: String
    @Option(help: "Newest versions kept (at least 1).") var keep = 5
    @Flag(help: "Print {name, pruned: [versions]}.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard (1...1_000_000).contains(keep) else { throw ValidationError("--keep must be from 1 to 1000000") }
    }

    func run() async throws {
        let pruned = try await FunctionDeployer.refusing(connection: connection.connection) { deployer in
            try await deployer.prune(name: name, keep: keep)
        }
        if json {
            printJSON(["name": name, "pruned": pruned] as [String: any Sendable])
        } else if pruned.isEmpty {
            print("\(name): nothing to prune (the newest \(keep) versions and the running ones are kept)")
        } else {
            print("\(name): forgot versions \(pruned.map(String.init).joined(separator: ", "))")
        }
    }
}
