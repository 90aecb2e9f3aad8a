import Foundation
import Logging
import Metrics
import SluiceFunctions
import SluiceKafka
import SluiceRecords
import SluiceRuntime

/// Writes what an attempt leads to — result and log, plus a retry record or a dead letter — and waits
/// for the broker to acknowledge it all, so that an offset never commits ahead of its records.
struct AttemptRecorder: Sendable {
    /// The largest function output a result carries (the rest of the record needs room under Kafka's
    /// 1 MB default record limit).
    static let maxOutputBytes = 900_000

    /// One finished attempt and the retry policy that applies to it.
    struct Attempt: Sendable {
        var request: InvocationRequest
        var spec: FunctionSpec?
        var outcome: InvocationOutcome
        var start: Date
        var end: Date
        var policy: RetryPolicy
        /// When the worker took the request and when the function started (for the result's `stages`).
        var takenAt: Date?
        var startedAt: Date?
    }

    let workerID: String
    let topics: PlatformTopics
    let signer: ResultSigner
    let logger: Logger

    /// Decides by the retry policy and writes the records that follow; returns once they are acknowledged.
    func record(_ attempt: Attempt, tiers: RetryTiers, producer: KafkaProducer) async -> Disposition {
        let (request, outcome, policy) = (attempt.request, attempt.outcome, attempt.policy)
        // Labels name deployed functions only: a request's function header is anyone's text.
        countInMetrics(outcome, function: attempt.spec?.name ?? "(not deployed)")
        let ageMs = request.origin.flatMap {
            $0.timestampMs >= 0 ? Int64(attempt.end.timeIntervalSince1970 * 1000) - $0.timestampMs : nil
        }
        var decision = RetryDecision.decide(
            errorClass: outcome.status.errorClass, retryable: outcome.retryable, attempt: request.attempt,
            policy: policy, ageMs: ageMs,
            delayMs: outcome.status == .success ? 0 : policy.delayMs(afterAttempt: request.attempt))
        var retry: ProducerRecord?
        if case .retry(let delayMs) = decision {
            let due = attempt.end.addingTimeInterval(Double(delayMs) / 1000)
            let record = retryRecord(
                request, outcome: outcome, failedAt: attempt.end, due: due, tier: tiers.tier(forDelayMs: delayMs))
            // A request that filled a record on its own has no room for the retry headers: it cannot be
            // retried whole, so it ends as a dead letter (which is fitted) instead of a refused write.
            if record.byteCount > RecordBudget.bytes { decision = .deadLetter(.rejected) } else { retry = record }
        }
        var finished = ResultRecords.Finished(
            request: request, spec: attempt.spec, outcome: outcome, workerID: workerID, start: attempt.start,
            end: attempt.end)
        finished.takenAt = attempt.takenAt
        finished.startedAt = attempt.startedAt
        switch decision {
        case .succeeded:
            await publish(
                [
                    ResultRecords.result(finished, topic: topics.results, signer: signer),
                    ResultRecords.log(finished, topic: topics.invocationLog),
                ], producer: producer)
            return .settled
        case .retry(let delayMs):
            finished.final = false
            finished.retryAt = attempt.end.addingTimeInterval(Double(delayMs) / 1000)
            finished.held = request.heldPartition.map { partition in
                KeyHold(
                    topic: topics.invocations, partition: partition, function: request.function,
                    key: String(decoding: request.key ?? Array(request.invocationID.utf8), as: UTF8.self))
            }
            await publish(
                [retry].compactMap { $0 } + [
                    ResultRecords.result(finished, topic: topics.results, signer: signer),
                    ResultRecords.log(finished, topic: topics.invocationLog),
                ],
                producer: producer)
            let bound = policy.chainBound(
                afterAttempt: request.attempt, timeoutSeconds: attempt.spec?.manifest.timeoutSeconds ?? 0)
            return .retrying(invocationID: request.invocationID, bound: bound)
        case .deadLetter(let reason):
            let failedAt = Timestamp.rfc3339(attempt.end)
            var letter = DeadLetter(
                key: request.key, value: request.value, origin: request.origin, function: request.function,
                functionVersion: attempt.spec?.version ?? 0, invocationID: request.invocationID,
                attempts: request.attempt,
                errorClass: outcome.status.errorClass ?? .error, error: outcome.error ?? outcome.status.rawValue,
                stderrTail: outcome.stderrTail,
                firstFailure: request.firstFailure ?? failedAt, lastFailure: failedAt, worker: workerID, reason: reason,
                traceParent: request.traceParent.child())
            letter.passthroughHeaders = request.passthroughHeaders
            letter.alias = request.alias
            finished.deadLetter = await publish([letter.producerRecord(topic: topics.deadLetters)], producer: producer)
                .first
            await publish(
                [
                    ResultRecords.result(finished, topic: topics.results, signer: signer),
                    ResultRecords.log(finished, topic: topics.invocationLog),
                ], producer: producer)
            logger.info(
                "dead-lettered",
                metadata: [
                    "invocation_id": "\(request.invocationID)", "function": "\(request.function)",
                    "reason": "\(reason.rawValue)",
                    "error_class": "\(letter.errorClass.rawValue)", "attempts": "\(request.attempt)",
                ])
            return .settled
        }
    }

    /// The request again, for its next attempt, on a retry tier.
    private func retryRecord(
        _ request: InvocationRequest, outcome: InvocationOutcome, failedAt: Date, due: Date, tier: RetryTiers.Tier
    ) -> ProducerRecord {
        var next = request
        next.attempt += 1
        next.firstFailure = request.firstFailure ?? Timestamp.rfc3339(failedAt)
        var record = next.producerRecord(topic: tier.topic)
        record.headers += [
            KafkaHeader(name: SluiceHeader.retryDue, string: String(Int64(due.timeIntervalSince1970 * 1000))),
            KafkaHeader(name: SluiceHeader.lastFailure, string: Timestamp.rfc3339(failedAt)),
            KafkaHeader(name: SluiceHeader.errorClass, string: outcome.status.rawValue),
            KafkaHeader(
                name: SluiceHeader.error, string: DeadLetter.bounded(outcome.error ?? "", DeadLetter.maxErrorBytes)),
        ]
        return record
    }

    /// A record that is not an invocation request at all goes to the dead-letter topic as it is.
    func deadLetterUnreadable(_ record: ConsumerRecord, reason: String, producer: KafkaProducer) async {
        let now = Timestamp.rfc3339()
        let letter = DeadLetter(
            key: record.key, value: record.value,
            origin: Origin(
                topic: record.topic, partition: record.partition, offset: record.offset, timestampMs: record.timestampMs
            ),
            function: record.headerText(SluiceHeader.function).flatMap {
                RecordBounds.isValidFunctionName($0) ? $0 : nil
            }
                ?? "", functionVersion: 0, invocationID: "", attempts: 0,
            errorClass: .rejected, error: "not a Sluice invocation request: \(reason)", stderrTail: "",
            firstFailure: now, lastFailure: now,
            worker: workerID, reason: .rejected, traceParent: nil)
        let position = await publish([letter.producerRecord(topic: topics.deadLetters)], producer: producer).first
        logger.error(
            "unreadable invocation request dead-lettered",
            metadata: [
                "position": "\(record.topic)/\(record.partition)@\(record.offset)",
                "dead_letter": "\(position.map(\.description) ?? "?")",
                "error": "\(reason)",
            ])
    }

    /// Counts an attempt in the process's metrics (Prometheus at `/metrics`).
    private func countInMetrics(_ outcome: InvocationOutcome, function: String) {
        Counter(
            label: "sluice_invocations_total",
            dimensions: [("function", function), ("status", outcome.status.rawValue)]
        ).increment()
        if let errorClass = outcome.status.errorClass {
            Counter(
                label: "sluice_invocation_errors_total",
                dimensions: [("function", function), ("class", errorClass.rawValue)]
            ).increment()
        }
        if outcome.coldStart {
            Counter(label: "sluice_cold_starts_total", dimensions: [("function", function)]).increment()
            if outcome.standbyStart {
                Counter(label: "sluice_standby_starts_total", dimensions: [("function", function)]).increment()
            }
        }
        Metrics.Timer(
            label: "sluice_invocation_duration_seconds", dimensions: [("function", function)],
            preferredDisplayUnit: .seconds
        )
        .recordNanoseconds(Int64(outcome.durationMs * 1_000_000))
    }

    private static func invocationID(_ record: ProducerRecord) -> String? {
        record.headers.first { $0.name == SluiceHeader.invocationID }?.value.map { String(decoding: $0, as: UTF8.self) }
    }

    /// Produces records, retrying until the broker acknowledges them: an unacknowledged result must not
    /// let the offset commit. Returns where they were written. Every record is built within
    /// `RecordBudget.bytes`; should the broker still refuse one as too large (a smaller
    /// `message.max.bytes`), the records are fitted to a tenth of the budget, then to
    /// `RecordBudget.smallest`, never resent as they were; refused even then, they are given up with an
    /// error log naming them (and `sluice_records_unwritable_total`), so one record cannot stall its
    /// partition for ever.
    @discardableResult
    private func publish(_ records: [ProducerRecord], producer: KafkaProducer) async -> [RecordPosition] {
        var records = records
        var backoff = Duration.milliseconds(100)
        var smallerBudgets = [RecordBudget.bytes / 10, RecordBudget.smallest]
        while true {
            do {
                var deliveries: [PendingDelivery] = []
                for record in records { deliveries.append(try await producer.enqueue(record)) }
                var positions: [RecordPosition] = []
                for delivery in deliveries { positions.append(try await delivery.position()) }
                return positions
            } catch let error as KafkaError where error.code == .messageTooLarge {
                let metadata: Logger.Metadata = [
                    "error": "\(error)", "bytes": "\(records.map(\.byteCount).max() ?? 0)",
                    "topics": "\(Set(records.map(\.topic)).sorted())",
                    "invocation_ids": "\(Set(records.compactMap(Self.invocationID)).sorted())",
                ]
                guard !smallerBudgets.isEmpty else {
                    logger.error(
                        "the broker refuses even the smallest form of these records; they are not written",
                        metadata: metadata)
                    Counter(label: "sluice_records_unwritable_total").increment(by: records.count)
                    return []
                }
                let budget = smallerBudgets.removeFirst()
                logger.error(
                    "the broker refused a record as too large; writing it within \(budget) bytes", metadata: metadata)
                records = records.map { $0.fitted(budget: budget) }
            } catch {
                logger.warning("writing a result failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
    }
}
