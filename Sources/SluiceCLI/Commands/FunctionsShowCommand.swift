import ArgumentParser
import Foundation
import SluiceRegistry

/// `sluice functions show`.
struct FunctionsShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show one function's current version.",
        discussion: "Example:\n  sluice functions show sha-echo")
    @Argument(help: "The function name.") var name: String
    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Print the registry record as JSON.") var json = false

    func run() async throws {
        let registry = try await FunctionRegistry.load(connection: connection.connection, admission: .project())
        let spec = registry.function(named: name)
        await registry.close()
        guard let spec else {
            throw CLIError("function \(name) is not deployed; `sluice functions list` shows what is")
        }
        let object = try JSONSerialization.jsonObject(with: Data(spec.encoded()))
        if json {
            printJSON(object)
        } else {
            let data = try JSONSerialization.data(
                withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        }
    }
}
