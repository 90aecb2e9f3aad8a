import ArgumentParser
import Foundation
import SluiceFunctions
import SluiceKafka
import SluicePipeline
import SluiceRecords
import SluiceRegistry

/// `sluice invoke NAME`.
struct InvokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invoke",
        abstract: "Invoke a function through Kafka and wait for its result.",
        discussion: """
            Publishes one invocation request to sluice.invocations and waits for its result on sluice.results. \
            Prints the output (exit 0) or the error (exit 1). A running worker is needed (make up runs two).

            With --alias A the version the alias points at runs (`sluice alias set`); without it, the live \
            version (or its canary, for the invocation ids the canary takes).

            Example:
              sluice invoke sha-echo --data '{"id": 1}' --key customer-7
              sluice invoke sha-echo --alias beta --data '{"id": 1}'
            """
    )

    @Argument(help: "The function to invoke.") var name: String
    @Option(help: "The event (JSON or any text).") var data: String?
    @Option(help: ArgumentHelp("Read the event from a file.", valueName: "path")) var file: String?
    @Option(help: "The event's key.") var key: String?
    @Option(help: "The function's alias to run (default: live).") var alias: String?
    @Option(name: .customLong("wait"), help: ArgumentHelp("Seconds to wait for the result.", valueName: "seconds"))
    var wait: Double = 60
    @Flag(help: "Print the whole result record as JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        if data != nil && file != nil { throw ValidationError("give at most one of --data and --file") }
    }

    func run() async throws {
        let kafka = connection.connection
        let deployed = try await FunctionRegistry.load(connection: kafka, admission: .project())
        let spec = deployed.function(named: name)
        await deployed.close()
        guard let spec else {
            throw CLIError(
                "function \(name) is not deployed; nothing was published. `sluice functions list` shows what is.")
        }
        if let alias, spec.routed("", alias: alias) == nil {
            let known = ([FunctionSpec.liveAlias] + (spec.aliases ?? [:]).keys.sorted()).joined(separator: ", ")
            throw CLIError("function \(name) has no alias \(alias) (aliases: \(known)); nothing was published.")
        }
        let event =
            try data.map { Array($0.utf8) } ?? file.map { Array(try Data(contentsOf: URL(fileURLWithPath: $0))) }
            ?? Array("null".utf8)
        let result = try await Invoker(connection: kafka).invoke(
            name, alias: alias == FunctionSpec.liveAlias ? nil : alias, event: event, key: key.map { Array($0.utf8) },
            wait: .seconds(wait)
        ) {
            // A failed attempt that will be retried: say so and wait for the last word.
            printError($0.retryLine)
        }
        guard let result else {
            throw CLIError(
                "no result within \(Int(wait)) s; is a worker running? (`make up` runs the supervisor's workers)")
        }
        if json || result.succeeded {
            FileHandle.standardOutput.write(Data((json ? result.value : result.output) + [0x0A]))
        }
        if !result.succeeded { throw CLIError("\(name) ended with status \(result.status): \(result.error)") }
    }
}
