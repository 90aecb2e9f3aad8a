import ArgumentParser
import Foundation
import SluiceRegistry

/// `sluice functions list`.
struct FunctionsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List deployed functions.",
        discussion: "Example:\n  sluice functions list --json")
    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Print a JSON array of registry records.") var json = false

    func run() async throws {
        let registry = try await FunctionRegistry.load(connection: connection.connection, admission: .project())
        let functions = registry.all
        await registry.close()
        if json {
            printJSON(try functions.map { try JSONSerialization.jsonObject(with: Data($0.encoded())) })
            return
        }
        if functions.isEmpty { print("no functions deployed; `sluice deploy Config/functions/` deploys the examples") }
        for spec in functions {
            let m = spec.manifest
            print(
                "\(spec.name)  v\(spec.version)  tenant=\(m.tenant)  runtime=\(m.runtime.rawValue)  triggers=\(m.eventTriggers.joined(separator: ","))"
            )
        }
    }
}
