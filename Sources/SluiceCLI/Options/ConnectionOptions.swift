import ArgumentParser
import Foundation
import SluiceKafka

/// How a command reaches Kafka.
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Kafka brokers, host:port[,host:port…]. Default: $SLUICE_BROKERS, else 127.0.0.1:9092.", valueName: "list"))
    var brokers: String?

    @Option(name: .long, help: ArgumentHelp("Seconds to wait for the cluster before failing.", valueName: "seconds"))
    var timeout: Double = 10

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be more than 0 seconds") }
        if let brokers, brokers.split(separator: ",").contains(where: { !$0.contains(":") }) {
            throw ValidationError("--brokers takes host:port pairs separated by commas, e.g. 127.0.0.1:9092")
        }
    }

    var brokerList: String {
        brokers ?? ProcessInfo.processInfo.environment["SLUICE_BROKERS"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "127.0.0.1:9092"
    }

    var connection: KafkaConnection {
        KafkaConnection(brokerList: brokerList, clientID: "sluice-cli", timeoutMs: Int(timeout * 1000))
    }
}

/// An error the CLI reports as `Error: <message>` with exit code 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
