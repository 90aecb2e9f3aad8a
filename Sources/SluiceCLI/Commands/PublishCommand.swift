import ArgumentParser
import Foundation
import SluiceKafka
import SluiceRecords
import SluiceSupport

/// `sluice publish TOPIC`.
struct PublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish records to a topic; prints topic/partition@offset of each once acknowledged.",
        discussion: """
            Every record gets a W3C traceparent header (a new trace) unless --header traceparent=… is given.

            Examples:
              sluice publish orders.created --key customer-7 --data '{"id": 1, "total": 12.5}'
              sluice publish orders.created --lines < orders.jsonl
            """
    )

    @Argument(help: "The topic to publish to.") var topic: String
    @Option(help: "The record's value.") var data: String?
    @Option(help: ArgumentHelp("Read the record's value from a file (bytes as they are).", valueName: "path")) var file:
        String?
    @Flag(help: "Publish one record per line of standard input.") var lines = false
    @Option(help: "The record key (for --lines: the key of every record).") var key: String?
    @Option(
        name: .customLong("header"), help: ArgumentHelp("A header name=value; repeatable.", valueName: "name=value"))
    var headers: [String] = []
    @Option(help: "Publish to this partition instead of the key's.") var partition: Int32?
    @Flag(help: "Create the topic (1 partition) when it does not exist.") var create = false
    @Flag(help: "Print one JSON object per record.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        let sources = [data != nil, file != nil, lines].filter { $0 }.count
        guard sources == 1 else { throw ValidationError("give exactly one of --data, --file or --lines") }
        _ = try publisher()
    }

    /// The records' topic, key, partition and headers; a header without `=` is a usage error naming it.
    private func publisher() throws -> TopicPublisher {
        guard let publisher = TopicPublisher(topic: topic, key: key, partition: partition, headers: headers) else {
            throw ValidationError("--header takes name=value, got '\(headers.first { !$0.contains("=") } ?? "")'")
        }
        return publisher
    }

    func run() async throws {
        let kafka = connection.connection
        let publisher = try publisher()
        do {
            try await publisher.ensureTopic(connection: kafka, create: create)
        } catch let error as KafkaError where error.code == .unknownTopic {
            throw CLIError(error.message)
        }
        try await TopicPublisher.withProducer(connection: kafka) { producer in
            if lines {
                let reader = ByteLineReader()
                let started = ContinuousClock.now
                let count = try await producer.sendAll(
                    next: { try await reader.nextLine().map(publisher.record) }, acknowledged: report)
                let seconds = max((ContinuousClock.now - started) / .seconds(1), 0.000_001)
                printError(
                    "published \(count) records to \(topic) in \(String(format: "%.2f", seconds)) s (\(Int(Double(count) / seconds)) records/s)"
                )
            } else {
                let value = try data.map { Array($0.utf8) } ?? Array(Data(contentsOf: URL(fileURLWithPath: file ?? "")))
                report(try await producer.send(publisher.record(value)))
            }
        }
    }

    private func report(_ position: RecordPosition) {
        if json {
            printJSON(["topic": position.topic, "partition": Int(position.partition), "offset": position.offset])
        } else {
            print(position.description)
        }
    }
}
