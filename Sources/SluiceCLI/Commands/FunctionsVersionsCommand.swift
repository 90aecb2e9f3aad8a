import ArgumentParser
import Foundation
import SluiceRegistry
import SluiceSupport

/// `sluice functions versions`.
struct FunctionsVersionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "versions",
        abstract: "Every deployed version of a function, and which one is current.",
        discussion: """
            Reads sluice.function-versions (each version as deployed and signed): what `sluice rollback \
            --to V` can go back to.

            Example:
              sluice functions versions sha-echo --json
            """)
    @Argument(help: "The function name.") var name: String
    @Flag(help: "Print a JSON array of {version, current, code_hash, created_at, signed_by}.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let (versions, current) = try await FunctionDeployer.with(connection: connection.connection) { deployer in
            (try await deployer.versions(of: name), deployer.registry.function(named: name)?.version)
        }
        guard !versions.all.isEmpty else { throw CLIError("function \(name) has no deployed versions") }
        let rows = versions.all.map { spec -> [String: any Sendable] in
            [
                "version": spec.version, "current": spec.version == current, "code_hash": spec.codeHash,
                "created_at": spec.createdAt, "signed_by": spec.signature?.key ?? "",
            ]
        }
        if json {
            printJSON(rows)
            return
        }
        print(
            TextTable.render(
                header: ["VERSION", "CURRENT", "CODE", "DEPLOYED", "SIGNED BY"],
                rows: versions.all.map { spec in
                    [
                        String(spec.version), spec.version == current ? "*" : "",
                        String(spec.codeHash.prefix(19)) + "…",
                        spec.createdAt, String((spec.signature?.key ?? "unsigned").prefix(12)) + "…",
                    ]
                }))
    }
}
