import ArgumentParser

/// `sluice`: the command-line front of the platform. Each subcommand lives in its own file.
public struct Sluice: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "A serverless function platform where Kafka topics drive everything.",
        discussion: """
            Every command that talks to Kafka takes --brokers host:port[,…] (default: $SLUICE_BROKERS, \
            else 127.0.0.1:9092), so the same commands work against Apache Kafka.

            Example:
              sluice broker start && sluice topics apply && sluice publish orders.created --data '{"id":1}'
            """,
        version: "0.1.0",
        subcommands: [
            BrokerCommand.self, TopicsCommand.self, PublishCommand.self, TailCommand.self, DeployCommand.self,
            PromoteCommand.self, RollbackCommand.self, AliasCommand.self, SigningKeyCommand.self, FunctionsCommand.self,
            InvokeCommand.self, RouterCommand.self, WorkerCommand.self, DLQCommand.self, LagCommand.self,
            DashboardCommand.self, SupervisorCommand.self, BenchCommand.self,
            UpCommand.self, DownCommand.self,
        ]
    )

    public init() {}
}
