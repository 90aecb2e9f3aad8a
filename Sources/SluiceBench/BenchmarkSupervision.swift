import Foundation
import SluiceKafka
import SluiceRecords
import SluiceScaling
import SluiceSupport

/// What the benchmarks that run a supervisor with `sluice worker` processes share: its configuration and
/// the invocation requests they publish.
enum BenchmarkSupervision {
    /// A supervisor of pool `pool:<group>` whose workers run `group` on `topics` and trust the
    /// benchmark's deploy key (`workerArguments` are added); logs in `.run/bench`.
    static func configuration(
        connection: KafkaConnection, executable: String, topics: PlatformTopics, group: String,
        workerArguments: [String] = []
    ) -> Supervisor.Configuration {
        let logs = ProjectPaths.discover().run.appendingPathComponent("bench")
        try? FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        var configuration = Supervisor.Configuration(connection: connection, executable: executable, logDirectory: logs)
        configuration.poolID = "pool:\(group)"
        configuration.workerGroup = group
        configuration.topics = topics
        configuration.workerArguments =
            [
                "--brokers", connection.brokerList, "--invocations-topic", topics.invocations, "--retry-prefix",
                topics.retryPrefix, "--dlq-topic", topics.deadLetters, "--group", group, "--trusted-key",
                BenchmarkKey.publicKey,
            ] + workerArguments
        return configuration
    }

    /// The topics of a benchmark pool, created: `<prefix>.invocations` with `partitions`, a `1s` retry tier
    /// and `<prefix>.dlq`; with their names, for `deleteTopics`.
    static func makeTopics(prefix: String, partitions: Int, connection: KafkaConnection) async throws -> (
        topics: PlatformTopics, created: [String]
    ) {
        var topics = PlatformTopics.standard
        topics.invocations = prefix + ".invocations"
        topics.retryPrefix = topics.invocations + ".retry."
        topics.deadLetters = prefix + ".dlq"
        let created = [topics.invocations, topics.retryPrefix + "1s", topics.deadLetters]
        _ = try await KafkaAdmin.with(connection) { admin in
            try await admin.createTopics(
                created.map { NewTopic(name: $0, partitions: $0 == topics.invocations ? partitions : 1) })
        }
        return (topics, created)
    }

    /// Deletes what `makeTopics` made (best effort: a benchmark's result does not depend on it).
    static func deleteTopics(_ names: [String], connection: KafkaConnection) async {
        _ = try? await KafkaAdmin.with(connection) { try await $0.deleteTopics(names) }
    }

    /// Publishes `count` invocation requests of `function` (values "1"…) to `topic`; returns how many.
    static func publishRequests(_ function: String, count: Int, topic: String, connection: KafkaConnection)
        async throws -> Int
    {
        var index = 0
        let producer = try KafkaProducer.make(ProducerConfiguration(connection: connection))
        return try await closing(close: producer.close) {
            try await producer.sendAll(
                next: {
                    guard index < count else { return nil }
                    index += 1
                    let request = InvocationRequest(
                        invocationID: InvocationRequest.randomID(), function: function, trigger: "invoke", key: nil,
                        value: Array("\(index)".utf8), traceParent: .start())
                    return request.producerRecord(topic: topic)
                }, acknowledged: { _ in })
        }
    }
}
