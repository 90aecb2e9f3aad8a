import Foundation
import Logging
import Metrics
import SluiceAutoscaler
import SluiceFunctions
import SluiceKafka
import SluiceRuntime
import SluiceSupport
import Synchronization

/// A member of the `sluice-workers` group on `sluice.invocations`: runs each request's function, writes
/// its result and invocation-log records, and commits only the contiguous prefix of finished offsets.
///
/// Per partition, records of different keys run concurrently (up to the function's `max_concurrency`
/// and the worker's `concurrency`), records of one key in order (`ordering: key`), a whole partition in
/// order (`ordering: partition`), or with no order at all (`ordering: none`).
///
/// A failed attempt goes, by the function's retry policy, to a retry tier topic (the worker's retry
/// consumer runs it again when due) or to the dead-letter topic; the request's offset commits once that
/// record is acknowledged. While a record is in retry, later records of its key (of its partition for
/// `ordering: partition`) wait for its chain to end.
public final class Worker: Sendable {
    public struct Configuration: Sendable {
        public var connection: KafkaConnection
        public var workerID: String
        /// Invocations running at once in this worker.
        public var concurrency: Int = 16
        /// Records taken from Kafka and not finished (queued behind their key or running).
        public var maxInFlight: Int = 2000
        public var groupID: String = "sluice-workers"
        public var topic: String = InvocationRequest.topic
        /// Idle warm processes are retired after this long.
        public var warmTTL: Duration = .seconds(60)
        /// Retry tier topics; nil: those named `sluice.retry.<delay>` on the broker.
        public var retryTiers: RetryTiers?
        /// Records held in memory by the retry consumer until they are due.
        public var maxRetriesHeld: Int = 10_000
        public var deadLetterTopic: String = DeadLetter.topic
        /// Limits (`max_event_bytes`) from `Config/platform.yaml`.
        public var platform = PlatformConfiguration.standard
        /// Where load samples go (one a second).
        public var scalingTopic = "sluice.scaling"
        /// The retry consumer's group.
        public var retryGroupID: String { groupID + "-retry" }

        public init(connection: KafkaConnection, workerID: String) {
            self.connection = connection
            self.workerID = workerID
        }
    }

    let configuration: Configuration
    let registry: FunctionRegistry
    let runner: FunctionRunner
    let index: OutcomeIndex
    let logger: Logger
    private let functionSlots = Mutex<[String: AsyncSemaphore]>([:])
    private let stopper = ConsumerStopper()
    /// One run per invocation id at a time: a copy redelivered by a rebalance while the first still runs
    /// waits for it, then finds its success in the index instead of running again.
    private let runningIDs = KeyGates()
    private let inFlight = Atomic<Int>(0)
    /// Records taken from the invocations topic and not finished (queued or running).
    private let taken = Atomic<Int>(0)
    /// Per function: running now, and ended since the last load sample (count, summed ms).
    private let functionLoad = Mutex<[String: LoadSample.FunctionLoad]>([:])
    /// Partitions with a key (or the whole partition) waiting for a record in retry: how many holds.
    private let heldByRetry = Mutex<[TopicPartition: Int]>([:])
    /// The autoscaler's latest concurrency per function (from `sluice.scaling`; nil: `max_concurrency`).
    private let decidedConcurrency = Mutex<[String: Int?]>([:])
    private let inFlightGauge = Gauge(label: "sluice_invocations_in_flight")

    public init(configuration: Configuration, registry: FunctionRegistry, runner: FunctionRunner, index: OutcomeIndex, logger: Logger) {
        self.configuration = configuration
        self.registry = registry
        self.runner = runner
        self.index = index
        self.logger = logger
    }

    /// Stops taking records; `run` then finishes the invocations running, leaves records that had not
    /// started uncommitted (their next owner runs them), commits and returns.
    public func stop() {
        stopper.stop()
        index.wakeWaiters()
    }

    /// Consumes and runs invocations (and their retries) until `stop()`. (Cancelling the task instead
    /// would cut running invocations short.)
    public func run() async throws {
        let tiers: RetryTiers
        if let configured = configuration.retryTiers { tiers = configured } else { tiers = try await RetryTiers.discover(connection: configuration.connection) }
        let clients = try GroupClients(
            connection: configuration.connection, groupID: configuration.groupID, bufferCapacity: configuration.maxInFlight, logger: logger)
        let slots = AsyncSemaphore(permits: configuration.concurrency)
        let retries = RetryConsumer(
            clients: try GroupClients(
                connection: configuration.connection, groupID: configuration.retryGroupID, bufferCapacity: configuration.maxRetriesHeld,
                // A retry waits for its backoff anyway; fewer empty fetches leave the broker's CPU to the main path.
                fetchWaitMaxMs: 200, logger: logger),
            topics: tiers.topics, maxHeld: configuration.maxRetriesHeld, stopper: stopper, logger: logger)
        try clients.consumer.subscribe(topics: [configuration.topic])
        stopper.attach(clients.consumer)
        try retries.subscribe()
        for spec in registry.all { await runner.prewarm(spec) }

        let maintenance = Task { [runner, registry, configuration] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                await runner.maintain(ttl: configuration.warmTTL) { registry.function(named: $0) }
            }
        }
        let sampling = Task { [clients] in
            // A load sample a second on sluice.scaling, for the autoscaler, the lag engine and the dashboard.
            var last = ContinuousClock.now
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                let now = ContinuousClock.now
                await self.publishLoadSample(clients, interval: now - last)
                last = now
            }
        }
        let scaling = Task { await self.applyScalingDecisions() }
        async let retrying: Void = retries.run { record, producer in
            _ = await self.handle(record, producer: producer, slots: slots, tiers: tiers)
        }
        await consume(clients, slots: slots, tiers: tiers)
        await retrying
        maintenance.cancel()
        sampling.cancel()
        scaling.cancel()
        await clients.finish()
        await runner.shutdown()
    }

    /// The main loop on the invocations topic.
    private func consume(_ clients: GroupClients, slots: AsyncSemaphore, tiers: RetryTiers) async {
        let (consumer, producer, commits) = (clients.consumer, clients.producer, clients.commits)
        let taken = AsyncSemaphore(permits: configuration.maxInFlight)
        let gates = KeyGates()
        let ownership = PartitionOwnership()
        await withTaskGroup(of: Void.self) { group in
            for await event in consumer.events {
                switch event {
                case .assigned(let partitions):
                    logger.info("partitions assigned", metadata: ["partitions": "\(partitions)"])
                    // Results written by a previous owner must be known before its records are redone.
                    do { try await index.catchUp() } catch { logger.warning("\(error)") }
                case .revoked(let partitions):
                    logger.info("partitions revoked", metadata: ["partitions": "\(partitions)"])
                    ownership.revoke(partitions)
                    await clients.revoked(partitions)
                case .record(let record):
                    await commits.started(record)
                    await taken.acquire()
                    self.taken.add(1, ordering: .relaxed)
                    let ticket = orderingTicket(record, gates: gates)
                    let generation = ownership.generation(of: record.topicPartition)
                    group.addTask {
                        defer {
                            self.taken.subtract(1, ordering: .relaxed)
                            taken.release()
                        }
                        await ticket?.wait()
                        // Not started before a stop or the partition's revocation: left uncommitted for
                        // the partition's next owner (maybe this worker again, from the committed offset).
                        let abandoned: @Sendable () -> Bool = {
                            self.stopper.isStopped || !ownership.isCurrent(record.topicPartition, generation: generation)
                        }
                        let disposition = await self.handle(record, producer: producer, slots: slots, tiers: tiers, abandoned: abandoned)
                        if case .abandoned = disposition {
                            ticket?.finish()
                            return
                        }
                        await commits.finished(record)
                        if let ticket, case .retrying(let id, let bound) = disposition {
                            await self.holdKey(for: id, bound: bound, partition: record.topicPartition)
                            ticket.finish()
                        } else {
                            ticket?.finish()
                        }
                    }
                case .error(let error):
                    logger.warning("consumer error", metadata: ["error": "\(error)"])
                case .partitionEOF:
                    break
                }
            }
            // Stopped: the group waits here for the invocations already running.
        }
    }

    /// Keeps a key's later records waiting while one of its records is in retry: until its chain ends
    /// (success or dead letter, by whichever worker), at most `bound`.
    private func holdKey(for invocationID: String, bound: Duration, partition: TopicPartition) async {
        heldByRetry.withLock { $0[partition, default: 0] += 1 }
        defer {
            heldByRetry.withLock { held in
                held[partition, default: 1] -= 1
                if held[partition] == 0 { held[partition] = nil }
            }
        }
        let final = await index.waitForFinal(invocationID, timeout: bound) { self.stopper.isStopped }
        if !final, !stopper.isStopped {
            logger.warning("a record in retry did not finish in time; later records of its key go on", metadata: ["invocation_id": "\(invocationID)"])
        }
    }

    /// The gate that orders this record behind earlier ones, per the function's `ordering`.
    private func orderingTicket(_ record: ConsumerRecord, gates: KeyGates) -> KeyGates.Ticket? {
        let function = record.header(SluiceHeader.function).map { String(decoding: $0, as: UTF8.self) } ?? ""
        switch registry.function(named: function)?.manifest.ordering ?? .key {
        case .none: return nil
        case .partition: return gates.ticket(for: "\(record.partition)|\(function)")
        case .key: return gates.ticket(for: "\(record.partition)|\(function)|\(record.key.map { String(decoding: $0, as: UTF8.self) } ?? "")")
        }
    }

    private func slots(for spec: FunctionSpec) -> AsyncSemaphore {
        let decided = decidedConcurrency.withLock { $0[spec.name] ?? nil }
        return functionSlots.withLock { slots in
            let key = "\(spec.name)@\(spec.version)"
            if let existing = slots[key] { return existing }
            let semaphore = AsyncSemaphore(permits: Self.concurrency(spec, decided: decided))
            slots[key] = semaphore
            return semaphore
        }
    }

    /// A function's invocations at once in this worker: the autoscaler's decision, never above
    /// `max_concurrency` (which applies alone until a decision arrives).
    static func concurrency(_ spec: FunctionSpec, decided: Int?) -> Int {
        min(spec.manifest.maxConcurrency, decided ?? spec.manifest.maxConcurrency)
    }

    /// Follows the autoscaler's per-function decisions on `sluice.scaling` and applies them to this
    /// worker: warm processes to keep, and invocations at once.
    private func applyScalingDecisions() async {
        let consumer: KafkaConsumer
        do {
            consumer = try await KafkaConsumer.following(
                configuration.scalingTopic, from: TopicPartitionOffset.end, connection: configuration.connection, logger: logger)
        } catch {
            logger.warning("cannot follow scaling decisions; warm pools keep min_warm", metadata: ["error": "\(error)"])
            return
        }
        await consumer.forEachRecord { record in
            guard let value = record.value, let decision = try? JSONDecoder().decode(ScalingEvent.self, from: Data(value)),
                decision.workerGroup == configuration.groupID, let spec = registry.function(named: decision.functionID)
            else { return }
            decidedConcurrency.withLock { $0[spec.name] = decision.concurrency }
            let semaphore = functionSlots.withLock { $0["\(spec.name)@\(spec.version)"] }
            semaphore?.setPermits(Self.concurrency(spec, decided: decision.concurrency))
            await runner.setWarmTarget(spec, processes: decision.warmProcesses)
            logger.info("scaling decision applied", metadata: [
                "function": "\(spec.name)", "warm_processes": "\(decision.warmProcesses)",
                "concurrency": "\(Self.concurrency(spec, decided: decision.concurrency))", "event_id": "\(decision.eventID)",
            ])
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

    /// Runs one request (from the invocations topic or a retry tier) and writes what follows from it —
    /// result and log, plus a retry record or a dead letter for a failure; returns once all are
    /// acknowledged.
    ///
    /// `abandoned` is asked once the invocation has its slots, right before it would start.
    func handle(
        _ record: ConsumerRecord, producer: KafkaProducer, slots: AsyncSemaphore, tiers: RetryTiers, abandoned: @Sendable () -> Bool = { false }
    ) async -> Disposition {
        let request: InvocationRequest
        switch InvocationRequest.decode(record) {
        case .success(let decoded): request = decoded
        case .failure(let error):
            await deadLetterUnreadable(record, reason: error.description, producer: producer)
            return .settled
        }
        let running = runningIDs.ticket(for: request.invocationID)
        await running.wait()
        defer { running.finish() }
        if index.isFinal(request.invocationID) {
            logger.debug("already settled; not run again", metadata: ["invocation_id": "\(request.invocationID)"])
            return .settled
        }
        let spec = registry.function(named: request.function)
        let start = Date()
        guard let outcome = await run(request, spec: spec, record: record, slots: slots, abandoned: abandoned) else { return .abandoned }
        let end = Date()
        countInMetrics(outcome, function: request.function)

        let policy = spec?.manifest.retry ?? configuration.platform.retry
        let ageMs = request.origin.flatMap { $0.timestampMs >= 0 ? Int64(end.timeIntervalSince1970 * 1000) - $0.timestampMs : nil }
        let decision = RetryDecision.decide(
            errorClass: outcome.status.errorClass, retryable: outcome.retryable, attempt: request.attempt, policy: policy, ageMs: ageMs,
            delayMs: outcome.status == .success ? 0 : policy.delayMs(afterAttempt: request.attempt))
        var finished = ResultRecords.Finished(request: request, spec: spec, outcome: outcome, workerID: configuration.workerID, start: start, end: end)
        switch decision {
        case .succeeded:
            await publish([ResultRecords.result(finished), ResultRecords.log(finished)], producer: producer)
            index.note(request.invocationID, success: true)
            return .settled
        case .retry(let delayMs):
            let due = end.addingTimeInterval(Double(delayMs) / 1000)
            finished.final = false
            finished.retryAt = due
            await publish(
                [retryRecord(request, outcome: outcome, failedAt: end, due: due, tier: tiers.tier(forDelayMs: delayMs)), ResultRecords.result(finished), ResultRecords.log(finished)],
                producer: producer)
            let attemptsLeft = policy.maxAttempts - request.attempt
            let bound = Duration.milliseconds(policy.worstCaseSpanMs) + .seconds(Double(attemptsLeft) * (spec?.manifest.timeoutSeconds ?? 0) + 60)
            return .retrying(invocationID: request.invocationID, bound: bound)
        case .deadLetter(let reason):
            let failedAt = Timestamp.rfc3339(end)
            var letter = DeadLetter(
                key: request.key, value: request.value, origin: request.origin, function: request.function, functionVersion: spec?.version ?? 0,
                invocationID: request.invocationID, attempts: request.attempt, errorClass: outcome.status.errorClass ?? .error,
                error: outcome.error ?? outcome.status.rawValue, stderrTail: outcome.stderrTail, firstFailure: request.firstFailure ?? failedAt,
                lastFailure: failedAt, worker: configuration.workerID, reason: reason, traceParent: request.traceParent.child())
            letter.passthroughHeaders = request.passthroughHeaders
            finished.deadLetter = await publish([letter.producerRecord(topic: configuration.deadLetterTopic)], producer: producer).first
            await publish([ResultRecords.result(finished), ResultRecords.log(finished)], producer: producer)
            index.note(request.invocationID, success: false)
            logger.info("dead-lettered", metadata: [
                "invocation_id": "\(request.invocationID)", "function": "\(request.function)", "reason": "\(reason.rawValue)",
                "error_class": "\(letter.errorClass.rawValue)", "attempts": "\(request.attempt)",
            ])
            return .settled
        }
    }

    /// Runs the function, or says why it cannot run (`rejected`); an output too large for a result is
    /// an `error` that is not retried. Nil: abandoned before it started.
    private func run(
        _ request: InvocationRequest, spec: FunctionSpec?, record: ConsumerRecord, slots: AsyncSemaphore, abandoned: @Sendable () -> Bool
    ) async -> InvocationOutcome? {
        if abandoned() { return nil }
        guard let spec else {
            return InvocationOutcome(status: .rejected, error: "function \(request.function) is not deployed")
        }
        if let size = request.value?.count, size > configuration.platform.maxEventBytes {
            return InvocationOutcome(
                status: .rejected, error: "the event is \(size) bytes; the limit is \(configuration.platform.maxEventBytes) (limits.max_event_bytes)")
        }
        let functionSlots = self.slots(for: spec)
        await functionSlots.acquire()
        await slots.acquire()
        if abandoned() {
            slots.release()
            functionSlots.release()
            return nil
        }
        inFlight.add(1, ordering: .relaxed)
        inFlightGauge.record(inFlight.load(ordering: .relaxed))
        functionLoad.withLock { $0[spec.name, default: .init()].inFlight += 1 }
        let started = ContinuousClock.now
        defer {
            inFlight.subtract(1, ordering: .relaxed)
            inFlightGauge.record(inFlight.load(ordering: .relaxed))
            let ms = (ContinuousClock.now - started) / .milliseconds(1)
            functionLoad.withLock { load in
                load[spec.name, default: .init()].inFlight -= 1
                load[spec.name, default: .init()].invocations += 1
                load[spec.name, default: .init()].durationMsSum += ms
            }
        }
        var outcome = await runner.invoke(
            spec, InvocationInput(invocationID: request.invocationID, event: request.value, contextJSON: context(request, spec: spec, record: record)))
        slots.release()
        functionSlots.release()
        if let output = outcome.output, output.count > Self.maxOutputBytes {
            outcome = InvocationOutcome(status: .error, error: "the output is \(output.count) bytes; results hold at most \(Self.maxOutputBytes)")
            outcome.retryable = false
        }
        return outcome
    }

    /// The request again, for its next attempt, on a retry tier.
    private func retryRecord(_ request: InvocationRequest, outcome: InvocationOutcome, failedAt: Date, due: Date, tier: RetryTiers.Tier) -> ProducerRecord {
        var next = request
        next.attempt += 1
        next.firstFailure = request.firstFailure ?? Timestamp.rfc3339(failedAt)
        var record = next.producerRecord(topic: tier.topic)
        record.headers += [
            KafkaHeader(name: SluiceHeader.retryDue, string: String(Int64(due.timeIntervalSince1970 * 1000))),
            KafkaHeader(name: SluiceHeader.lastFailure, string: Timestamp.rfc3339(failedAt)),
            KafkaHeader(name: SluiceHeader.errorClass, string: outcome.status.rawValue),
            KafkaHeader(name: SluiceHeader.error, string: DeadLetter.bounded(outcome.error ?? "", DeadLetter.maxErrorBytes)),
        ]
        return record
    }

    /// A record that is not an invocation request at all goes to the dead-letter topic as it is.
    private func deadLetterUnreadable(_ record: ConsumerRecord, reason: String, producer: KafkaProducer) async {
        let now = Timestamp.rfc3339()
        let function = record.header(SluiceHeader.function).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let letter = DeadLetter(
            key: record.key, value: record.value,
            origin: Origin(topic: record.topic, partition: record.partition, offset: record.offset, timestampMs: record.timestampMs),
            function: function, functionVersion: 0, invocationID: "", attempts: 0, errorClass: .rejected,
            error: "not a Sluice invocation request: \(reason)", stderrTail: "", firstFailure: now, lastFailure: now,
            worker: configuration.workerID, reason: .rejected, traceParent: nil)
        let position = await publish([letter.producerRecord(topic: configuration.deadLetterTopic)], producer: producer).first
        logger.error("unreadable invocation request dead-lettered", metadata: [
            "position": "\(record.topic)/\(record.partition)@\(record.offset)", "dead_letter": "\(position.map(\.description) ?? "?")", "error": "\(reason)",
        ])
    }

    /// Counts an attempt in the process's metrics (Prometheus at `/metrics`).
    private func countInMetrics(_ outcome: InvocationOutcome, function: String) {
        Counter(label: "sluice_invocations_total", dimensions: [("function", function), ("status", outcome.status.rawValue)]).increment()
        if let errorClass = outcome.status.errorClass {
            Counter(label: "sluice_invocation_errors_total", dimensions: [("function", function), ("class", errorClass.rawValue)]).increment()
        }
        if outcome.coldStart { Counter(label: "sluice_cold_starts_total", dimensions: [("function", function)]).increment() }
        Metrics.Timer(label: "sluice_invocation_duration_seconds", dimensions: [("function", function)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(Int64(outcome.durationMs * 1_000_000))
    }

    /// Publishes this worker's load (a `LoadSample`): in flight and queued, per function, and per assigned
    /// partition its lag and whether a record in retry holds it.
    private func publishLoadSample(_ clients: GroupClients, interval: Duration) async {
        let warm = await runner.warmProcesses()
        for (function, count) in warm { Gauge(label: "sluice_warm_processes", dimensions: [("function", function)]).record(count) }
        var functions = functionLoad.withLock { load in
            defer {
                for name in load.keys {
                    load[name]?.invocations = 0
                    load[name]?.durationMsSum = 0
                }
            }
            return load
        }
        for (function, count) in warm { functions[function, default: .init()].warmProcesses = count }
        let assigned = (try? clients.consumer.assignment()) ?? []
        let ends = clients.consumer.cachedEnds(assigned)
        let next = await clients.commits.committable()
        let held = heldByRetry.withLock { Set($0.keys) }
        let partitions = assigned.map { partition in
            let end = ends[partition] ?? 0
            return LoadSample.Partition(
                topic: partition.topic, partition: partition.partition, lag: max(0, end - (next[partition] ?? end)),
                heldByRetry: held.contains(partition))
        }
        let running = inFlight.load(ordering: .relaxed)
        let sample = LoadSample(
            workerID: configuration.workerID, group: configuration.groupID, timestamp: Timestamp.rfc3339(),
            intervalSeconds: interval / .seconds(1), inFlight: running, queued: max(0, taken.load(ordering: .relaxed) - running),
            functions: functions, partitions: partitions)
        _ = try? await clients.producer.enqueue(
            ProducerRecord(topic: configuration.scalingTopic, key: Array(configuration.workerID.utf8), value: sample.encoded()))
    }

    /// The largest function output a result carries (the rest of the record needs room under Kafka's
    /// 1 MB default record limit).
    static let maxOutputBytes = 900_000

    /// Produces records, retrying until the broker acknowledges them: an unacknowledged result must not
    /// let the offset commit. Returns where they were written.
    @discardableResult
    private func publish(_ records: [ProducerRecord], producer: KafkaProducer) async -> [RecordPosition] {
        var backoff = Duration.milliseconds(100)
        while true {
            do {
                let deliveries = try await records.asyncMap { try await producer.enqueue($0) }
                return try await deliveries.asyncMap { try await $0.position() }
            } catch {
                logger.warning("writing a result failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
    }

    /// The `context` argument of a function: who, what, where from, and until when.
    private func context(_ request: InvocationRequest, spec: FunctionSpec, record: ConsumerRecord) -> [UInt8] {
        var headers: [String: String] = [:]
        for header in request.passthroughHeaders { headers[header.name] = header.value.map { String(decoding: $0, as: UTF8.self) } ?? "" }
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

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        result.reserveCapacity(count)
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
