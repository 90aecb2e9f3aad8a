import ArgumentParser

/// `sluice bench …`: speed, measured against a baseline in the same run.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print figures and ratios against a baseline measured in the same run.",
        discussion: "Example:\n  sluice bench all --save    (what `make bench` runs)",
        subcommands: [
            BenchAllCommand.self, BenchCompareCommand.self, BenchFunctionsCommand.self, BenchPipelineCommand.self,
            BenchReplayCommand.self,
            BenchSandboxCommand.self, BenchScalingCommand.self, BenchPrewarmCommand.self, BenchDeployCommand.self,
        ]
    )
}
