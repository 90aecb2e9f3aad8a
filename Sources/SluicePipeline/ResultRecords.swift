import Foundation
import SluiceFunctions
import SluiceKafka
import SluiceRuntime

/// Builds the records one finished invocation produces: its result on `sluice.results` and its entry in
/// `sluice.invocation-log` (the seed's Invocation Log schema), both keyed by invocation id.
public enum ResultRecords {
    public static let resultsTopic = "sluice.results"
    public static let logTopic = "sluice.invocation-log"

    /// Everything known about one finished invocation.
    public struct Finished: Sendable {
        public var request: InvocationRequest
        public var spec: FunctionSpec?
        public var outcome: InvocationOutcome
        public var workerID: String
        public var start: Date
        public var end: Date

        public init(request: InvocationRequest, spec: FunctionSpec?, outcome: InvocationOutcome, workerID: String, start: Date, end: Date) {
            self.request = request
            self.spec = spec
            self.outcome = outcome
            self.workerID = workerID
            self.start = start
            self.end = end
        }
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
    }

    static func trigger(_ request: InvocationRequest) -> [String: Any] {
        var trigger: [String: Any] = ["type": request.trigger]
        if let topic = request.triggerTopic { trigger["topic"] = topic }
        if let partition = request.triggerPartition { trigger["partition"] = Int(partition) }
        if let offset = request.triggerOffset { trigger["offset"] = offset }
        return trigger
    }

    public static func result(_ finished: Finished) -> ProducerRecord {
        let outcome = finished.outcome
        var object: [String: Any] = [
            "invocation_id": finished.request.invocationID,
            "function_id": finished.spec?.functionID ?? "fn_\(finished.request.function)",
            "function": finished.request.function,
            "version": finished.spec?.version ?? 0,
            "tenant_id": finished.spec?.manifest.tenant ?? NSNull(),
            "status": outcome.status.rawValue,
            "error": outcome.error ?? NSNull(),
            "duration_ms": (outcome.durationMs * 1000).rounded() / 1000,
            "cold_start": outcome.coldStart,
            "attempt": finished.request.attempt,
            "worker_id": finished.workerID,
            "runtime_pid": Int(outcome.processID),
            "memory_used_mb": (outcome.memoryUsedMB * 10).rounded() / 10,
            "cpu_ms_used": (outcome.cpuMsUsed * 10).rounded() / 10,
            "finished_at": timestamp(finished.end),
            "trigger": trigger(finished.request),
        ]
        if let traceback = outcome.traceback, !traceback.isEmpty { object["traceback"] = traceback }
        if outcome.status != .success, !outcome.stderrTail.isEmpty { object["stderr_tail"] = String(outcome.stderrTail.suffix(2048)) }
        object["output"] = outcome.output.flatMap { try? JSONSerialization.jsonObject(with: Data($0), options: [.fragmentsAllowed]) } ?? NSNull()
        return record(topic: resultsTopic, finished: finished, object: object)
    }

    public static func log(_ finished: Finished) -> ProducerRecord {
        let outcome = finished.outcome
        let object: [String: Any] = [
            "invocation_id": finished.request.invocationID,
            "function_id": finished.spec?.functionID ?? "fn_\(finished.request.function)",
            "tenant_id": finished.spec?.manifest.tenant ?? NSNull(),
            "worker_id": finished.workerID,
            "start_time": timestamp(finished.start),
            "end_time": timestamp(finished.end),
            "duration_ms": (outcome.durationMs * 1000).rounded() / 1000,
            "cold_start": outcome.coldStart,
            "status": outcome.status.rawValue,
            "memory_used_mb": (outcome.memoryUsedMB * 10).rounded() / 10,
            "cpu_ms_used": (outcome.cpuMsUsed * 10).rounded() / 10,
            "request_id": finished.request.invocationID,
            "trigger": finished.request.triggerTopic.map { "kafka:\($0)" } ?? finished.request.trigger,
            "function": finished.request.function,
            "version": finished.spec?.version ?? 0,
            "attempt": finished.request.attempt,
        ]
        return record(topic: logTopic, finished: finished, object: object)
    }

    private static func record(topic: String, finished: Finished, object: [String: Any]) -> ProducerRecord {
        let value = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])).map(Array.init) ?? []
        return ProducerRecord(
            topic: topic, key: Array(finished.request.invocationID.utf8), value: value,
            headers: [
                KafkaHeader(name: SluiceHeader.invocationID, string: finished.request.invocationID),
                KafkaHeader(name: SluiceHeader.function, string: finished.request.function),
                finished.request.traceParent.child().header,
            ])
    }
}
