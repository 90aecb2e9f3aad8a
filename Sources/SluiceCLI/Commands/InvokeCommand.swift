import ArgumentParser
import Foundation
import SluiceFunctions
import SluiceKafka
import SluicePipeline

/// `sluice invoke NAME`.
struct InvokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invoke",
        abstract: "Invoke a function through Kafka and wait for its result.",
        discussion: """
            Publishes one invocation request to sluice.invocations and waits for its result on sluice.results. \
            Prints the output (exit 0) or the error (exit 1). A running worker is needed (make up runs two).

            Example:
              sluice invoke sha-echo --data '{"id": 1}' --key customer-7
            """
    )

    @Argument(help: "The function to invoke.") var name: String
    @Option(help: "The event (JSON or any text).") var data: String?
    @Option(help: ArgumentHelp("Read the event from a file.", valueName: "path")) var file: String?
    @Option(help: "The event's key.") var key: String?
    @Option(name: .customLong("wait"), help: ArgumentHelp("Seconds to wait for the result.", valueName: "seconds")) var wait: Double = 60
    @Flag(help: "Print the whole result record as JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        if data != nil && file != nil { throw ValidationError("give at most one of --data and --file") }
    }

    func run() async throws {
        let kafka = connection.connection
        let registry = try await FunctionRegistry.load(connection: kafka)
        let spec = registry.function(named: name)
        await registry.close()
        guard spec != nil else {
            throw CLIError("function \(name) is not deployed; nothing was published. `sluice functions list` shows what is.")
        }
        let event = try data.map { Array($0.utf8) } ?? file.map { Array(try Data(contentsOf: URL(fileURLWithPath: $0))) } ?? Array("null".utf8)

        // Read results from their current end before publishing, so the result cannot be missed.
        let admin = try KafkaAdmin.make(kafka)
        let marks = try await admin.highWatermarks(topics: [OutcomeIndex.topic])
        await admin.close()
        let consumer = try KafkaConsumer.make(ConsumerConfiguration(connection: kafka))
        try consumer.assign(marks.map { TopicPartitionOffset($0.key, offset: $0.value) })

        let id = InvocationRequest.randomID()
        let request = InvocationRequest(invocationID: id, function: name, trigger: "invoke", key: key.map { Array($0.utf8) }, value: event, traceParent: .start())
        let producer = try KafkaProducer.make(ProducerConfiguration(connection: kafka))
        _ = try await producer.send(request.producerRecord())
        await producer.close()

        let result = try await waitForResult(id: id, consumer: consumer)
        await consumer.close()
        guard let result else { throw CLIError("no result for \(id) within \(Int(wait)) s; is a worker running? (`make up` runs two)") }
        let object = try JSONSerialization.jsonObject(with: Data(result)) as? [String: Any] ?? [:]
        if json {
            FileHandle.standardOutput.write(Data(result + [0x0A]))
        } else if object["status"] as? String == "success" {
            let output = try JSONSerialization.data(withJSONObject: object["output"] ?? NSNull(), options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes])
            FileHandle.standardOutput.write(output + [0x0A])
        }
        if object["status"] as? String != "success" {
            throw CLIError("\(name) ended with status \(object["status"] as? String ?? "?"): \(object["error"] as? String ?? "")")
        }
    }

    private func waitForResult(id: String, consumer: KafkaConsumer) async throws -> [UInt8]? {
        let wanted = Array(id.utf8)
        return try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
            group.addTask {
                for await event in consumer.events {
                    guard case .record(let record) = event, record.key == wanted else { continue }
                    if record.header(SluiceHeader.final) != Array("false".utf8) { return record.value }
                    // A failed attempt that will be retried: say so and wait for the last word.
                    let object = (try? JSONSerialization.jsonObject(with: Data(record.value ?? []))) as? [String: Any] ?? [:]
                    printError("attempt \(object["attempt"] as? Int ?? 0) failed (\(object["status"] as? String ?? "?")): \(object["error"] as? String ?? ""); retry at \(object["retry_at"] as? String ?? "?")")
                }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: .seconds(wait))
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}
