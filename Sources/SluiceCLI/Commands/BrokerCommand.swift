import ArgumentParser
import Foundation
import SluiceBroker

/// `sluice broker start|stop|status`.
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run the embedded Kafka-protocol broker (Tansu) in the background.",
        discussion: """
            The broker keeps its data in memory: stopping it loses every topic and record.
            Its pid file and log live in the run folder (default .run/ of the checkout).

            Example:
              sluice broker start --port 9092 && sluice broker status
            """,
        subcommands: [BrokerStartCommand.self, BrokerStopCommand.self, BrokerStatusCommand.self]
    )
}

/// Which embedded broker a `broker` subcommand means.
struct BrokerLocationOptions: ParsableArguments {
    @Option(help: "Port on 127.0.0.1.") var port: Int = 9092
    @Option(name: .customLong("data-dir"), help: ArgumentHelp("Folder for the pid file and log.", valueName: "dir"))
    var dataDir: String?

    var broker: EmbeddedBroker {
        EmbeddedBroker(port: port, runDirectory: dataDir.map { URL(fileURLWithPath: $0) })
    }
}
