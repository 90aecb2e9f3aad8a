import Foundation
import Logging
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

        public init(connection: KafkaConnection, workerID: String) {
            self.connection = connection
            self.workerID = workerID
        }
    }

    let configuration: Configuration
    let registry: FunctionRegistry
    let runner: FunctionRunner
    let index: SuccessIndex
    let logger: Logger
    private let functionSlots = Mutex<[String: AsyncSemaphore]>([:])
    private let stopper = ConsumerStopper()
    /// One run per invocation id at a time: a copy redelivered by a rebalance while the first still runs
    /// waits for it, then finds its success in the index instead of running again.
    private let runningIDs = KeyGates()

    public init(configuration: Configuration, registry: FunctionRegistry, runner: FunctionRunner, index: SuccessIndex, logger: Logger) {
        self.configuration = configuration
        self.registry = registry
        self.runner = runner
        self.index = index
        self.logger = logger
    }

    /// Stops taking records; `run` then finishes what it took, commits and returns.
    public func stop() {
        stopper.stop()
    }

    /// Consumes and runs invocations until `stop()`; then finishes what it took and commits. (Cancelling
    /// the task instead would cut running invocations short.)
    public func run() async throws {
        let clients = try GroupClients(
            connection: configuration.connection, groupID: configuration.groupID, bufferCapacity: configuration.maxInFlight, logger: logger)
        let (consumer, producer, commits) = (clients.consumer, clients.producer, clients.commits)
        let inFlight = AsyncSemaphore(permits: configuration.maxInFlight)
        let slots = AsyncSemaphore(permits: configuration.concurrency)
        let gates = KeyGates()
        try consumer.subscribe(topics: [configuration.topic])
        stopper.attach(consumer)
        for spec in registry.all { await runner.prewarm(spec) }

        let maintenance = Task { [runner, registry, configuration] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                await runner.maintain(ttl: configuration.warmTTL) { registry.function(named: $0) }
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for await event in consumer.events {
                switch event {
                case .assigned(let partitions):
                    logger.info("partitions assigned", metadata: ["partitions": "\(partitions)"])
                    // Results written by a previous owner must be known before its records are redone.
                    do { try await index.catchUp() } catch { logger.warning("\(error)") }
                case .revoked(let partitions):
                    logger.info("partitions revoked", metadata: ["partitions": "\(partitions)"])
                    await clients.revoked(partitions)
                case .record(let record):
                    await commits.started(record)
                    await inFlight.acquire()
                    let ticket = orderingTicket(record, gates: gates)
                    group.addTask {
                        await ticket?.wait()
                        await self.handle(record, producer: producer, slots: slots)
                        ticket?.finish()
                        await commits.finished(record)
                        inFlight.release()
                    }
                case .error(let error):
                    logger.warning("consumer error", metadata: ["error": "\(error)"])
                case .partitionEOF:
                    break
                }
            }
            // Stopped: the group waits here for the invocations already taken.
        }
        maintenance.cancel()
        await clients.finish()
        await runner.shutdown()
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
        functionSlots.withLock { slots in
            let key = "\(spec.name)@\(spec.version)"
            if let existing = slots[key] { return existing }
            let semaphore = AsyncSemaphore(permits: spec.manifest.maxConcurrency)
            slots[key] = semaphore
            return semaphore
        }
    }

    /// Runs one request and writes its result and log; returns once both are acknowledged.
    func handle(_ record: ConsumerRecord, producer: KafkaProducer, slots: AsyncSemaphore) async {
        let request: InvocationRequest
        switch InvocationRequest.decode(record) {
        case .success(let decoded): request = decoded
        case .failure(let error):
            logger.error("unreadable invocation request skipped", metadata: ["position": "\(record.topic)/\(record.partition)@\(record.offset)", "error": "\(error)"])
            return
        }
        let running = runningIDs.ticket(for: request.invocationID)
        await running.wait()
        defer { running.finish() }
        if index.hasSucceeded(request.invocationID) {
            logger.debug("already succeeded; not run again", metadata: ["invocation_id": "\(request.invocationID)"])
            return
        }
        let spec = registry.function(named: request.function)
        let start = Date()
        var outcome: InvocationOutcome
        if let spec {
            let functionSlots = self.slots(for: spec)
            await functionSlots.acquire()
            await slots.acquire()
            outcome = await runner.invoke(spec, InvocationInput(invocationID: request.invocationID, event: request.value, contextJSON: context(request, spec: spec, record: record)))
            slots.release()
            functionSlots.release()
        } else {
            outcome = InvocationOutcome(status: .error, error: "function \(request.function) is not deployed")
            outcome.retryable = false
        }
        if let output = outcome.output, output.count > Self.maxOutputBytes {
            outcome = InvocationOutcome(
                status: .error, error: "the output is \(output.count) bytes; results hold at most \(Self.maxOutputBytes)")
            outcome.retryable = false
        }
        let finished = ResultRecords.Finished(request: request, spec: spec, outcome: outcome, workerID: configuration.workerID, start: start, end: Date())
        await publish([ResultRecords.result(finished), ResultRecords.log(finished)], producer: producer)
        if outcome.status == .success { index.noteSuccess(request.invocationID) }
    }

    /// The largest function output a result carries (the rest of the record needs room under Kafka's
    /// 1 MB default record limit).
    static let maxOutputBytes = 900_000

    /// Produces records, retrying until the broker acknowledges them: an unacknowledged result must not
    /// let the offset commit.
    private func publish(_ records: [ProducerRecord], producer: KafkaProducer) async {
        var backoff = Duration.milliseconds(100)
        while true {
            do {
                let deliveries = try await records.asyncMap { try await producer.enqueue($0) }
                for delivery in deliveries { _ = try await delivery.position() }
                return
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
