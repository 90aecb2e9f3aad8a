import Foundation
import Logging
import ServiceLifecycle
import SluiceFunctions
import SluiceKafka
import SluiceRecords
import SluiceRegistry

/// The `sluice-router` group on every function's trigger topics: for each event and each subscribed
/// function, one invocation request on `sluice.invocations` with a deterministic invocation id. The
/// event's offset commits only after all its requests are acknowledged. Trigger topics added by a
/// deploy are subscribed live.
///
/// A `Service`: a graceful shutdown stops taking events, waits for what was taken to be acknowledged,
/// commits and returns.
public final class Router: Service, Sendable {
    public struct Configuration: Sendable {
        public var connection: KafkaConnection
        public var groupID = "sluice-router"
        /// The platform topics (requests go to `invocations`).
        public var topics = PlatformTopics.standard
        /// Route only these functions (nil: every deployed function). Lets routers of separate
        /// pipelines share one registry without routing each other's events.
        public var functions: Set<String>?
        /// Events taken and not yet acknowledged downstream.
        public var maxInFlight = 10_000
        /// …and at most this many bytes of them.
        public var maxInFlightBytes = 128 << 20
        public init(connection: KafkaConnection) { self.connection = connection }
    }

    let configuration: Configuration
    let registry: FunctionRegistry
    let logger: Logger
    private let stopper = ConsumerStopper()

    public init(configuration: Configuration, registry: FunctionRegistry, logger: Logger) {
        self.configuration = configuration
        self.registry = registry
        self.logger = logger
    }

    /// Stops taking events; `run` then waits for what it took to be acknowledged, commits and returns.
    public func stop() {
        stopper.stop()
    }

    /// Routes until `stop()` or a graceful shutdown.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await route()
        } onGracefulShutdown: {
            self.stop()
        }
    }

    private func route() async throws {
        let options = GroupClients.Options(groupID: configuration.groupID, bufferCapacity: configuration.maxInFlight)
        try await GroupClients.with(connection: configuration.connection, options, logger: logger) { clients in
            let inFlight = AsyncSemaphore(permits: configuration.maxInFlight)
            let inFlightBytes = ByteBudget(limit: configuration.maxInFlightBytes)
            let acknowledger = RequestAcknowledger(
                producer: clients.producer, commits: clients.commits, inFlight: inFlight,
                inFlightBytes: inFlightBytes, logger: logger)
            stopper.attach(clients.consumer)
            let subscribed = try subscribe(clients.consumer, to: triggerTopics(), after: [])
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await self.followTriggers(clients.consumer, subscribed: subscribed) }
                group.addTask { await acknowledger.run() }
                await read(clients, inFlight: inFlight, inFlightBytes: inFlightBytes, acknowledger: acknowledger)
                acknowledger.finish()
                // The acknowledger ends once every request taken is acknowledged; the follower is cancelled.
                try await group.next()
                group.cancelAll()
            }
        }
    }

    private func read(
        _ clients: GroupClients, inFlight: AsyncSemaphore, inFlightBytes: ByteBudget, acknowledger: RequestAcknowledger
    ) async {
        for await event in clients.consumer.events {
            guard case .record(let record) = event else {
                if case .revoked(let partitions) = event { await clients.revoked(partitions) }
                if case .error(let error) = event {
                    logger.warning("router consumer error", metadata: ["error": "\(error)"])
                }
                continue
            }
            await clients.commits.started(record)
            await inFlight.acquire()
            await inFlightBytes.acquire(record.byteCount)
            let routes = routes(for: record)
            var deliveries: [PendingDelivery?] = []
            for route in routes {
                // Refused at once becomes nil: the acknowledger sends it again, or its dead letter.
                deliveries.append(try? await clients.producer.enqueue(route.record))
            }
            acknowledger.add(record, deliveries: deliveries, routes: routes)
        }
    }

    /// One invocation request per subscribed function, each with the dead letter that takes its place
    /// if the broker refuses it for good; an event too large for a request is that dead letter at once.
    private func routes(for record: ConsumerRecord) -> [RequestAcknowledger.Route] {
        let routed = configuration.functions
        return registry.subscribers(of: record.topic).filter { routed?.contains($0.name) ?? true }.map { spec in
            let trace =
                record.headerText(TraceParent.headerName).flatMap(TraceParent.init(header:))?.child() ?? .start()
            var request = InvocationRequest(
                invocationID: InvocationRequest.derivedID(
                    topic: record.topic, partition: record.partition, offset: record.offset, function: spec.name),
                function: spec.name, trigger: "kafka", triggerTopic: record.topic, triggerPartition: record.partition,
                triggerOffset: record.offset, key: record.key, value: record.value, traceParent: trace,
                passthroughHeaders: InvocationRequest.passthrough(record.headers))
            request.triggerTimestampMs = record.timestampMs >= 0 ? record.timestampMs : nil
            let produced = request.producerRecord(topic: configuration.topics.invocations)
            let rejected = { @Sendable [request] (error: String) in
                self.deadLetter(request, version: spec.version, error: error, trace: trace)
            }
            guard produced.byteCount <= RecordBudget.bytes else {
                let error =
                    "an event of \(produced.byteCount) bytes with its headers does not fit an invocation request (at most \(RecordBudget.bytes))"
                logger.warning(
                    "event too large to route; dead-lettered",
                    metadata: [
                        "event": "\(record.topic)/\(record.partition)@\(record.offset)", "function": "\(spec.name)",
                    ])
                return RequestAcknowledger.Route(record: rejected(error), deadLetter: nil)
            }
            return RequestAcknowledger.Route(
                record: produced, deadLetter: { rejected("the broker refused the invocation request") })
        }
    }

    /// A `rejected` dead letter for an event that cannot become this request (fitted: the event's own
    /// value and headers may be what did not fit).
    private func deadLetter(_ request: InvocationRequest, version: Int, error: String, trace: TraceParent)
        -> ProducerRecord
    {
        let now = Timestamp.rfc3339()
        var letter = DeadLetter(
            key: request.key, value: request.value,
            origin: request.triggerTopic.map {
                Origin(
                    topic: $0, partition: request.triggerPartition ?? 0, offset: request.triggerOffset ?? 0,
                    timestampMs: request.triggerTimestampMs ?? -1)
            }, function: request.function, functionVersion: version, invocationID: request.invocationID, attempts: 0,
            errorClass: .rejected,
            error: error, stderrTail: "", firstFailure: now, lastFailure: now, worker: configuration.groupID,
            reason: .rejected, traceParent: trace)
        letter.passthroughHeaders = request.passthroughHeaders
        return letter.producerRecord(topic: configuration.topics.deadLetters)
    }

    private func triggerTopics() -> Set<String> {
        let routed = configuration.functions
        return Set(registry.all.filter { routed?.contains($0.name) ?? true }.flatMap(\.manifest.eventTriggers))
    }

    /// Subscribes to `topics` when they differ from `current` (and are not empty); returns what is subscribed.
    private func subscribe(_ consumer: KafkaConsumer, to topics: Set<String>, after current: Set<String>) throws -> Set<
        String
    > {
        guard topics != current, !topics.isEmpty else { return current }
        try consumer.subscribe(topics: topics.sorted())
        logger.info("router subscribed", metadata: ["topics": "\(topics.sorted())"])
        return topics
    }

    /// Subscribes to trigger topics added by deploys, until cancelled.
    private func followTriggers(_ consumer: KafkaConsumer, subscribed: Set<String>) async {
        var subscribed = subscribed
        while !Task.isCancelled {
            await registry.waitForChange()
            do {
                subscribed = try subscribe(consumer, to: triggerTopics(), after: subscribed)
            } catch {
                logger.error("router could not subscribe", metadata: ["error": "\(error)"])
            }
        }
    }
}
