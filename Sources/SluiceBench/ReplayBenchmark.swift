import Foundation
import Logging
import SluiceDeadLetters
import SluiceFunctions
import SluiceKafka
import SluicePipeline
import SluiceRecords
import SluiceSupport

/// `sluice bench replay`: the rate of `sluice dlq replay` (ledger read, one request and one ledger record
/// per dead letter, each acknowledged) against a raw produce of the same records, in the same run, on
/// the same warm producer.
public struct ReplayBenchmark: Sendable {
    public struct Report: Sendable {
        public var records: Int
        public var replayRPS: Double
        public var rawRPS: Double
        /// Reading the dead letters and the ledger (once per replay, whatever its size; in neither rate).
        public var readSeconds: Double
        public var ratio: Double { rawRPS > 0 ? replayRPS / rawRPS : 0 }
    }

    let connection: KafkaConnection
    let records: Int
    let logger = Logger(label: "sluice.bench")
    private let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)

    public init(connection: KafkaConnection, records: Int) {
        self.connection = connection
        self.records = records
    }

    public func run(progress: @Sendable (String) -> Void) async throws -> Report {
        let admin = try KafkaAdmin.make(connection)
        let dlq = "bench.\(tag).dlq"
        let raw = "bench.\(tag).raw"
        let invocations = "bench.\(tag).invocations"
        let ledger = "bench.\(tag).replays"
        _ = try await admin.createTopics([
            NewTopic(name: dlq, partitions: 3), NewTopic(name: raw, partitions: 6),
            NewTopic(name: invocations, partitions: 6), NewTopic(name: ledger, partitions: 1),
        ])
        let producer = try KafkaProducer.make(ProducerConfiguration(connection: connection), logger: logger)
        _ = try await producer.send(ProducerRecord(topic: raw, value: Array("warm-up".utf8)))
        _ = try await producer.send(ProducerRecord(topic: invocations, value: Array("warm-up".utf8)))

        progress("writing \(records) dead letters…")
        let now = Timestamp.rfc3339()
        let originals = (0..<records).map { index in
            DeadLetter(
                key: Array("key-\(index % 500)".utf8),
                value: Array("{\"order\":\(index),\"note\":\"\(String(repeating: "x", count: 160))\"}".utf8),
                origin: Origin(topic: "orders", partition: Int32(index % 6), offset: Int64(index), timestampMs: 0),
                function: "bench-fn",
                functionVersion: 1, invocationID: "inv_bench_\(index)", attempts: 4, errorClass: .error,
                error: "RuntimeError: boom",
                stderrTail: "Traceback …", firstFailure: now, lastFailure: now, worker: "bench",
                reason: .attemptsExhausted, traceParent: .start())
        }
        _ = try await produceAll(originals.map { $0.producerRecord(topic: dlq) }, producer: producer)

        var options = DeadLetterReplayer.Options()
        options.invocationsTopic = invocations
        options.ledgerTopic = ledger
        let replayer = DeadLetterReplayer(connection: connection, options: options, logger: logger)
        let readStart = ContinuousClock.now
        async let replays = replayer.loadLedger()
        let (letters, _) = try await DeadLetterQuery().read(topic: dlq, connection: connection)
        let alreadyReplayed = try await replays
        let readSeconds = (ContinuousClock.now - readStart).inSeconds
        guard letters.count == records else {
            throw KafkaError(.timedOut, "read \(letters.count) of \(records) dead letters back")
        }

        progress("raw produce of the same \(records) records…")
        let rawRecords = letters.map {
            ProducerRecord(topic: raw, key: $0.key, value: $0.value, headers: $0.producerRecord(topic: raw).headers)
        }
        let rawSeconds = try await produceAll(rawRecords, producer: producer)

        progress("replay of \(records) dead letters…")
        let report = try await replayer.replay(letters, ledger: alreadyReplayed, producer: producer)
        guard report.replayed.count == records else {
            throw KafkaError(.timedOut, "replayed \(report.replayed.count) of \(records)")
        }

        await producer.close()
        _ = try? await admin.deleteTopics([dlq, raw, invocations, ledger])
        await admin.close()
        return Report(
            records: records, replayRPS: Double(records) / report.seconds, rawRPS: Double(records) / rawSeconds,
            readSeconds: readSeconds)
    }

    /// Enqueues every record, then waits for every acknowledgement; returns the seconds it took.
    private func produceAll(_ records: [ProducerRecord], producer: KafkaProducer) async throws -> Double {
        let start = ContinuousClock.now
        var deliveries: [PendingDelivery] = []
        deliveries.reserveCapacity(records.count)
        for record in records { deliveries.append(try await producer.enqueue(record)) }
        for delivery in deliveries { _ = try await delivery.position() }
        return (ContinuousClock.now - start).inSeconds
    }
}
