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

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Seconds to wait for the cluster before failing. Default: $SLUICE_TIMEOUT, else 10.", valueName: "seconds"))
    var timeout: Double?

    /// `--timeout`, else `$SLUICE_TIMEOUT` when it is a positive number, else 10 s.
    var timeoutSeconds: Double {
        timeout ?? ProcessInfo.processInfo.environment["SLUICE_TIMEOUT"].flatMap(Double.init).flatMap {
            $0 > 0 && $0.isFinite ? $0 : nil
        } ?? 10
    }

    func validate() throws {
        if let timeout, !(timeout > 0) { throw ValidationError("--timeout must be more than 0 seconds") }
        if let brokers, brokers.split(separator: ",").contains(where: { !$0.contains(":") }) {
            throw ValidationError("--brokers takes host:port pairs separated by commas, e.g. 127.0.0.1:9092")
        }
    }

    var brokerList: String {
        brokers ?? ProcessInfo.processInfo.environment["SLUICE_BROKERS"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "127.0.0.1:9092"
    }

    var connection: KafkaConnection {
        KafkaConnection(
            brokerList: brokerList, clientID: "sluice-cli", timeoutMs: Int(min(timeoutSeconds, 86_400) * 1000))
    }
}

/// An error the CLI reports as `Error: <message>` with exit code 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
