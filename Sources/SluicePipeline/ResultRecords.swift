import Foundation
import SluiceFunctions
import SluiceKafka
import SluiceRecords
import SluiceRuntime
import SluiceSupport

/// Builds the records one finished invocation produces: its result on the results topic and its entry in
/// the invocation log (the seed's Invocation Log schema), both keyed by invocation id.
public enum ResultRecords {
    /// Everything known about one finished invocation.
    public struct Finished: Sendable {
        public var request: InvocationRequest
        public var spec: FunctionSpec?
        public var outcome: InvocationOutcome
        public var workerID: String
        public var start: Date
        public var end: Date
        /// False when another attempt follows (the result of a failed attempt that is retried).
        public var final = true
        /// When the next attempt is due (retried attempts).
        public var retryAt: Date?
        /// What the retry chain holds back (retried attempts of requests from the invocations topic).
        public var held: KeyHold?
        /// Where the dead letter went (dead-lettered invocations).
        public var deadLetter: RecordPosition?
        /// When the worker took the request from Kafka and when the function started (its slots acquired):
        /// with `end` and the request's enqueue time, the stages of its latency.
        public var takenAt: Date?
        public var startedAt: Date?

        public init(
            request: InvocationRequest, spec: FunctionSpec?, outcome: InvocationOutcome, workerID: String, start: Date,
            end: Date
        ) {
            self.request = request
            self.spec = spec
            self.outcome = outcome
            self.workerID = workerID
            self.start = start
            self.end = end
        }
    }

    static func timestamp(_ date: Date) -> String { Timestamp.rfc3339(date) }

    /// Writes the `trigger` object: type, and topic/partition/offset for Kafka triggers.
    static func writeTrigger(_ request: InvocationRequest, into json: inout JSONWriter) {
        json.beginObject("trigger")
        json.field("type", request.trigger)
        if let topic = request.triggerTopic { json.field("topic", topic) }
        if let partition = request.triggerPartition { json.field("partition", Int(partition)) }
        if let offset = request.triggerOffset { json.field("offset", offset) }
        json.endObject()
    }

    /// `stages`: ms since the epoch when the request was enqueued, taken by the worker, started and ended.
    static func writeStages(_ finished: Finished, into json: inout JSONWriter) {
        func ms(_ date: Date) -> Double { date.timeIntervalSince1970 * 1000 }
        json.beginObject("stages")
        if let enqueued = finished.request.enqueuedAtMs { json.field("enqueued_ms", enqueued) }
        if let taken = finished.takenAt { json.field("taken_ms", ms(taken), decimals: 3) }
        if let started = finished.startedAt { json.field("started_ms", ms(started), decimals: 3) }
        json.field("ended_ms", ms(finished.end), decimals: 3)
        json.endObject()
    }

    /// The result record: `invocation_id`, `function_id`, `version`, `status`, `output`, `error`,
    /// `duration_ms`, `cold_start` and the rest of what is known (docs/architecture.md).
    public static func result(_ finished: Finished, topic: String, signer: ResultSigner) -> ProducerRecord {
        let outcome = finished.outcome
        var json = JSONWriter(capacity: 512 + (outcome.output?.count ?? 0))
        json.beginObject()
        json.field("invocation_id", finished.request.invocationID)
        json.field("function_id", finished.spec?.functionID ?? "fn_\(finished.request.function)")
        json.field("function", finished.request.function)
        json.field("version", finished.spec?.version ?? 0)
        json.field("tenant_id", finished.spec?.manifest.tenant)
        json.field("status", outcome.status.rawValue)
        json.field("error_class", outcome.status.errorClass?.rawValue)
        json.field("final", finished.final)
        if let retryAt = finished.retryAt { json.field("retry_at", timestamp(retryAt)) }
        if let deadLetter = finished.deadLetter { json.field("dead_letter", deadLetter.description) }
        json.field("output", json: outcome.status == .success ? outcome.output : nil)
        json.field("error", outcome.error)
        if let traceback = outcome.traceback, !traceback.isEmpty { json.field("traceback", traceback) }
        if outcome.status != .success, !outcome.stderrTail.isEmpty {
            json.field("stderr_tail", String(outcome.stderrTail.suffix(2048)))
        }
        json.field("duration_ms", outcome.durationMs)
        json.field("cold_start", outcome.coldStart)
        if outcome.standbyStart { json.field("standby_start", true) }
        json.field("attempt", finished.request.attempt)
        if let replayOf = finished.request.replayOf { json.field("replay_of", replayOf) }
        json.field("worker_id", finished.workerID)
        json.field("runtime_pid", Int(outcome.processID))
        json.field("memory_used_mb", outcome.memoryUsedMB, decimals: 1)
        json.field("cpu_ms_used", outcome.cpuMsUsed, decimals: 1)
        json.field("finished_at", timestamp(finished.end))
        writeTrigger(finished.request, into: &json)
        writeStages(finished, into: &json)
        json.endObject()
        var record = record(topic: topic, finished: finished, value: json.bytes)
        let held = finished.final ? nil : finished.held
        record.headers +=
            [
                KafkaHeader(name: SluiceHeader.status, string: outcome.status.rawValue),
                KafkaHeader(name: SluiceHeader.final, string: finished.final ? "true" : "false"),
                signer.header(
                    invocationID: finished.request.invocationID, status: outcome.status.rawValue, final: finished.final,
                    held: held),
            ] + (held?.headers ?? [])
        return record
    }

    /// The invocation-log record, in the seed's Invocation Log schema plus function, version, attempt.
    public static func log(_ finished: Finished, topic: String) -> ProducerRecord {
        let outcome = finished.outcome
        var json = JSONWriter()
        json.beginObject()
        json.field("invocation_id", finished.request.invocationID)
        json.field("function_id", finished.spec?.functionID ?? "fn_\(finished.request.function)")
        json.field("tenant_id", finished.spec?.manifest.tenant)
        json.field("worker_id", finished.workerID)
        json.field("start_time", timestamp(finished.start))
        json.field("end_time", timestamp(finished.end))
        json.field("duration_ms", outcome.durationMs)
        json.field("cold_start", outcome.coldStart)
        if outcome.standbyStart { json.field("standby_start", true) }
        json.field("status", outcome.status.rawValue)
        json.field("memory_used_mb", outcome.memoryUsedMB, decimals: 1)
        json.field("cpu_ms_used", outcome.cpuMsUsed, decimals: 1)
        json.field("request_id", finished.request.invocationID)
        json.field("trigger", finished.request.triggerTopic.map { "kafka:\($0)" } ?? finished.request.trigger)
        json.field("function", finished.request.function)
        json.field("version", finished.spec?.version ?? 0)
        json.field("attempt", finished.request.attempt)
        json.field("error_class", outcome.status.errorClass?.rawValue)
        json.endObject()
        return record(topic: topic, finished: finished, value: json.bytes)
    }

    private static func record(topic: String, finished: Finished, value: [UInt8]) -> ProducerRecord {
        ProducerRecord(
            topic: topic, key: Array(finished.request.invocationID.utf8), value: value,
            headers: [
                KafkaHeader(name: SluiceHeader.invocationID, string: finished.request.invocationID),
                KafkaHeader(name: SluiceHeader.function, string: finished.request.function),
                finished.request.traceParent.child().header,
            ])
    }
}
