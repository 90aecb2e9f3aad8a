import ArgumentParser

/// `sluice functions list|show|versions|delete`.
struct FunctionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "functions",
        abstract: "Inspect, prune and delete deployed functions.",
        discussion: "Example:\n  sluice functions show sha-echo --json",
        subcommands: [
            FunctionsListCommand.self, FunctionsShowCommand.self, FunctionsVersionsCommand.self,
            FunctionsPruneCommand.self, FunctionsDeleteCommand.self,
        ]
    )
}
