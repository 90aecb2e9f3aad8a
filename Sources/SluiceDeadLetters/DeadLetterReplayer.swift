import Foundation
import Logging
import SluiceKafka
import SluicePipeline
import SluiceRecords
import SluiceSupport

/// Publishes dead letters again as fresh invocation requests (attempt 1, `sluice-replay-of` naming the
/// dead letter, the function's current version) and records each replay in the ledger once its request
/// is acknowledged. A dead letter already in the ledger is skipped unless `force`.
///
/// Invocation ids are derived from the dead letter's position, so a replay interrupted between publishing
/// and recording is published again with the same id and the workers' dedupe runs it once; `force` uses
/// fresh ids, so the function runs again.
public struct DeadLetterReplayer: Sendable {
    public struct Options: Sendable {
        public var invocationsTopic = PlatformTopics.standard.invocations
        public var ledgerTopic = PlatformTopics.standard.replays
        /// Replay to this function instead of the one that failed.
        public var toFunction: String?
        public var limit: Int?
        /// Requests per second at most.
        public var rate: Double?
        public var force = false
        public init() {}
    }

    public struct Report: Sendable {
        /// Dead letters that matched the query.
        public var matched = 0
        /// Skipped because the ledger says they were replayed.
        public var alreadyReplayed = 0
        /// What was (or, in a dry run, would be) published.
        public var replayed: [ReplayLedger.Entry] = []
        public var seconds = 0.0
    }

    /// Replays per ledger record.
    static let ledgerBatch = 500

    let connection: KafkaConnection
    let options: Options
    let logger: Logger

    public init(connection: KafkaConnection, options: Options, logger: Logger = Logger(label: "sluice.dlq")) {
        self.connection = connection
        self.options = options
        self.logger = logger
    }

    /// The replays recorded so far (none with `force`, which ignores them).
    public func loadLedger() async throws -> ReplayLedger {
        options.force ? ReplayLedger() : try await ReplayLedger.load(topic: options.ledgerTopic, connection: connection)
    }

    /// The dead letters `replay` would publish, in order, after the ledger and `limit`.
    public func plan(_ letters: [DeadLetter], ledger: ReplayLedger) -> Report {
        var report = Report()
        report.matched = letters.count
        for letter in letters {
            guard let position = letter.position else { continue }
            if ledger.contains(position) {
                report.alreadyReplayed += 1
                continue
            }
            if let limit = options.limit, report.replayed.count >= limit { break }
            let function = options.toFunction ?? letter.function
            let id =
                options.force
                ? InvocationRequest.randomID()
                : InvocationRequest.derivedID(
                    topic: position.topic, partition: position.partition, offset: position.offset, function: function)
            report.replayed.append(ReplayLedger.Entry(deadLetter: position, invocationID: id, function: function))
        }
        return report
    }

    /// Publishes the plan; `progress(done, total)` is called as requests are acknowledged. Uses
    /// `producer` when given (left open), else one of its own. `seconds` of the report is the time
    /// from the first request to the last acknowledged ledger record.
    public func replay(
        _ letters: [DeadLetter], ledger: ReplayLedger, producer given: KafkaProducer? = nil,
        progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }
    ) async throws -> Report {
        var report = plan(letters, ledger: ledger)
        let byPosition = Dictionary(
            letters.compactMap { letter in letter.position.map { ($0, letter) } },
            uniquingKeysWith: { first, _ in first })
        let producer = try given ?? KafkaProducer.make(ProducerConfiguration(connection: connection), logger: logger)
        let start = ContinuousClock.now
        let (acks, acksIn) = AsyncStream.makeStream(of: (PendingDelivery, ReplayLedger.Entry).self)
        let total = report.replayed.count
        // Replays are recorded in batches, each once all its requests are acknowledged (at most
        // `ledgerBatch` per record, at least one record a second while replays go on).
        let recorder = Task { () throws -> Void in
            var ledgerDeliveries: [PendingDelivery] = []
            var batch: [ReplayLedger.Entry] = []
            var lastRecorded = ContinuousClock.now
            var done = 0
            for await (delivery, entry) in acks {
                _ = try await delivery.position()
                batch.append(entry)
                done += 1
                progress(done, total)
                if batch.count >= Self.ledgerBatch || ContinuousClock.now - lastRecorded >= .seconds(1) {
                    ledgerDeliveries.append(
                        try await producer.enqueue(ReplayLedger.record(topic: options.ledgerTopic, entries: batch)))
                    batch = []
                    lastRecorded = ContinuousClock.now
                }
            }
            if !batch.isEmpty {
                ledgerDeliveries.append(
                    try await producer.enqueue(ReplayLedger.record(topic: options.ledgerTopic, entries: batch)))
            }
            for delivery in ledgerDeliveries { _ = try await delivery.position() }
        }
        do {
            for (index, item) in report.replayed.enumerated() {
                guard let letter = byPosition[item.deadLetter] else { continue }
                if let rate = options.rate, rate > 0 {
                    try await Task.sleep(until: start + .seconds(Double(index) / rate))
                }
                var request = InvocationRequest(
                    invocationID: item.invocationID, function: item.function, trigger: "replay", key: letter.key,
                    value: letter.value,
                    traceParent: letter.traceParent?.child() ?? .start(), passthroughHeaders: letter.passthroughHeaders)
                request.replayOf = item.deadLetter.description
                request.alias = letter.alias
                acksIn.yield(
                    (try await producer.enqueue(request.producerRecord(topic: options.invocationsTopic)), item))
            }
            acksIn.finish()
            try await recorder.value
        } catch {
            acksIn.finish()
            recorder.cancel()
            if given == nil { await producer.close() }
            throw error
        }
        if given == nil { await producer.close() }
        report.seconds = (ContinuousClock.now - start).inSeconds
        return report
    }
}
