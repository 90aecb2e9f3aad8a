import Foundation
import Logging
import SluiceArtifacts
import SluiceFunctions
import SluiceKafka
import SluiceRecords
import SluiceRegistry
import SluiceRuntime
import SluiceSupport

/// Runs one request (from the invocations topic or a retry tier) and has what follows from it recorded:
/// a result and a log entry, plus a retry record or a dead letter for a failure.
final class InvocationHandler: Sendable {
    let configuration: Worker.Configuration
    let registry: FunctionRegistry
    let runner: FunctionRunner
    let artifacts: ArtifactResolver
    let index: OutcomeIndex
    let recorder: AttemptRecorder
    let load: WorkerLoad
    let concurrency: FunctionConcurrency
    let tiers: RetryTiers
    let logger: Logger
    /// Invocations running at once in this worker.
    private let slots: AsyncSemaphore
    /// One run per invocation id at a time: a copy redelivered by a rebalance while the first still runs
    /// waits for it, then finds its success in the index instead of running again.
    private let runningIDs = KeyGates()

    init(
        configuration: Worker.Configuration, registry: FunctionRegistry, runner: FunctionRunner,
        artifacts: ArtifactResolver, index: OutcomeIndex, recorder: AttemptRecorder, load: WorkerLoad,
        concurrency: FunctionConcurrency, tiers: RetryTiers, logger: Logger
    ) {
        self.configuration = configuration
        self.registry = registry
        self.runner = runner
        self.artifacts = artifacts
        self.index = index
        self.recorder = recorder
        self.load = load
        self.concurrency = concurrency
        self.tiers = tiers
        self.logger = logger
        self.slots = AsyncSemaphore(permits: configuration.concurrency)
    }

    /// Runs the request in `record` and returns once everything it leads to is acknowledged.
    ///
    /// `abandoned` is asked once the invocation has its slots, right before it would start.
    /// `takenAt`: when the worker took the record from Kafka (or a retry became due).
    func handle(
        _ record: ConsumerRecord, producer: KafkaProducer, takenAt: Date = Date(),
        abandoned: @Sendable () -> Bool = { false }
    ) async -> Disposition {
        var request: InvocationRequest
        switch InvocationRequest.decode(record) {
        case .success(let decoded): request = decoded
        case .failure(let error):
            await recorder.deadLetterUnreadable(record, reason: error.description, producer: producer)
            return .settled
        }
        // Its retries say which invocations partition waits for them (whatever a forged header said).
        if record.topic == configuration.topics.invocations { request.heldPartition = record.partition }
        let running = runningIDs.ticket(for: request.invocationID)
        await running.wait()
        defer { running.finish() }
        if index.isFinal(request.invocationID) {
            logger.debug("already settled; not run again", metadata: ["invocation_id": "\(request.invocationID)"])
            return .settled
        }
        // The version this invocation runs: its alias's, else the live one, or the canary's for the ids
        // the canary takes.
        let spec = registry.function(named: request.function)?.routed(request.invocationID, alias: request.alias)
        let start = Date()
        guard let (outcome, startedAt) = await run(request, spec: spec, record: record, abandoned: abandoned) else {
            return .abandoned
        }
        var attempt = AttemptRecorder.Attempt(
            request: request, spec: spec, outcome: outcome, start: start, end: Date(),
            policy: spec?.manifest.retry ?? configuration.platform.retry)
        attempt.takenAt = takenAt
        attempt.startedAt = startedAt
        let disposition = await recorder.record(attempt, tiers: tiers, producer: producer)
        if case .settled = disposition { index.note(request.invocationID, success: outcome.status == .success) }
        return disposition
    }

    /// Runs the function, or says why it cannot run (`rejected`); an output too large for a result is
    /// an `error` that is not retried; with when it started (nil when it did not run). Nil: abandoned before
    /// it started.
    private func run(
        _ request: InvocationRequest, spec deployed: FunctionSpec?, record: ConsumerRecord,
        abandoned: @Sendable () -> Bool
    ) async -> (InvocationOutcome, Date?)? {
        if abandoned() { return nil }
        guard let deployed else {
            let missing =
                registry.function(named: request.function) == nil
                ? "function \(request.function) is not deployed"
                : "function \(request.function) has no alias \(request.alias ?? "")"
            return (InvocationOutcome(status: .rejected, error: missing), nil)
        }
        let spec: FunctionSpec
        switch await artifacts.resolve(deployed) {
        case .success(let resolved): spec = resolved
        case .failure(let refusal):
            return (InvocationOutcome(status: .rejected, error: refusal.description), nil)
        }
        let limit = configuration.platform.maxEventBytes
        if let size = request.value?.count, size > limit {
            let error = "the event is \(size) bytes; the limit is \(limit) (limits.max_event_bytes)"
            return (InvocationOutcome(status: .rejected, error: error), nil)
        }
        let functionSlots = concurrency.slots(for: spec)
        await functionSlots.acquire()
        await slots.acquire()
        if abandoned() {
            slots.release()
            functionSlots.release()
            return nil
        }
        let startedAt = Date()
        let started = load.started(spec.name)
        defer { load.ended(spec.name, since: started) }
        let input = InvocationInput(
            invocationID: request.invocationID, event: request.value,
            contextJSON: context(request, spec: spec, record: record))
        var outcome = await runner.invoke(spec, input, maxProcesses: concurrency.processes(for: spec))
        slots.release()
        functionSlots.release()
        if let output = outcome.output, output.count > AttemptRecorder.maxOutputBytes {
            outcome = InvocationOutcome(
                status: .error,
                error: "the output is \(output.count) bytes; results hold at most \(AttemptRecorder.maxOutputBytes)")
            outcome.retryable = false
        }
        return (outcome, startedAt)
    }

    /// The gate that orders this record behind earlier ones, per the function's `ordering`.
    func orderingTicket(_ record: ConsumerRecord, gates: KeyGates) -> KeyGates.Ticket? {
        orderingTicket(
            partition: record.partition, function: record.headerText(SluiceHeader.function) ?? "",
            key: record.keyText, gates: gates)
    }

    /// The ticket of a record of `function` with `key` on invocations partition `partition`: nil when the
    /// function's records need not wait for each other.
    func orderingTicket(partition: Int32, function: String, key: String?, gates: KeyGates) -> KeyGates.Ticket? {
        switch registry.function(named: function)?.manifest.ordering ?? .key {
        case .none: return nil
        case .partition: return gates.ticket(for: "\(partition)|\(function)")
        case .key: return gates.ticket(for: "\(partition)|\(function)|\(key ?? "")")
        }
    }

    /// Keeps a key's later records waiting while one of its records is in retry: until its chain ends
    /// (success or dead letter, by whichever worker), at most `bound`, or until `stopped()`.
    func holdKey(
        for invocationID: String, bound: Duration, partition: TopicPartition, stopped: @escaping @Sendable () -> Bool
    ) async {
        load.hold(partition)
        defer { load.release(partition) }
        let final = await index.waitForFinal(invocationID, timeout: bound, giveUp: stopped)
        if !final, !stopped() {
            logger.warning(
                "a record in retry did not finish in time; later records of its key go on",
                metadata: ["invocation_id": "\(invocationID)"])
        }
    }

    /// The `context` argument of a function: who, what, where from, and until when.
    private func context(_ request: InvocationRequest, spec: FunctionSpec, record: ConsumerRecord) -> [UInt8] {
        var headers: [String: String] = [:]
        for header in request.passthroughHeaders {
            headers[header.name] = header.value.map { String(decoding: $0, as: UTF8.self) } ?? ""
        }
        headers[TraceParent.headerName] = request.traceParent.description
        var json = JSONWriter()
        json.beginObject()
        json.field("invocation_id", request.invocationID)
        json.field("function", spec.name)
        json.field("version", spec.version)
        json.field("tenant", spec.manifest.tenant)
        json.field("attempt", request.attempt)
        ResultRecords.writeTrigger(request, into: &json)
        json.field("key", request.key.map { String(decoding: $0, as: UTF8.self) })
        json.field("headers", strings: headers)
        json.field("deadline", Date().timeIntervalSince1970 + spec.manifest.timeoutSeconds)
        json.field("worker_id", configuration.workerID)
        json.endObject()
        return json.bytes
    }
}

/// What became of a record.
enum Disposition {
    /// Finished: succeeded, dead-lettered, or already done before.
    case settled
    /// Failed and written to a retry tier; its chain should end within `bound`.
    case retrying(invocationID: String, bound: Duration)
    /// Not started (the worker stopped or lost the partition meanwhile); nothing was written.
    case abandoned
}
