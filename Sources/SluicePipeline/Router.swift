import Foundation
import Logging
import SluiceFunctions
import SluiceKafka
import Synchronization

/// The `sluice-router` group on every function's trigger topics: for each event and each subscribed
/// function, one invocation request on `sluice.invocations` with a deterministic invocation id. The
/// event's offset commits only after all its requests are acknowledged. Trigger topics added by a
/// deploy are subscribed live.
public final class Router: Sendable {
    public struct Configuration: Sendable {
        public var connection: KafkaConnection
        public var groupID = "sluice-router"
        /// Where invocation requests go.
        public var invocationsTopic = InvocationRequest.topic
        /// Route only these functions (nil: every deployed function). Lets routers of separate
        /// pipelines share one registry without routing each other's events.
        public var functions: Set<String>?
        /// Events taken and not yet acknowledged downstream.
        public var maxInFlight = 10_000
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

    /// Routes until `stop()`.
    public func run() async throws {
        let clients = try GroupClients(
            connection: configuration.connection, groupID: configuration.groupID, bufferCapacity: configuration.maxInFlight, logger: logger)
        let (consumer, producer, commits) = (clients.consumer, clients.producer, clients.commits)
        let inFlight = AsyncSemaphore(permits: configuration.maxInFlight)
        stopper.attach(consumer)

        let routed = configuration.functions
        func triggerTopics() -> Set<String> {
            Set(registry.all.filter { routed?.contains($0.name) ?? true }.flatMap(\.manifest.eventTriggers))
        }
        var subscribed = triggerTopics()
        if !subscribed.isEmpty { try consumer.subscribe(topics: subscribed.sorted()) }
        let resubscribe = Task { [registry, logger] in
            while !Task.isCancelled {
                await registry.waitForChange()
                let topics = triggerTopics()
                guard topics != subscribed, !topics.isEmpty else { continue }
                subscribed = topics
                do {
                    try consumer.subscribe(topics: topics.sorted())
                    logger.info("router subscribed", metadata: ["topics": "\(topics.sorted())"])
                } catch {
                    logger.error("router could not subscribe", metadata: ["error": "\(error)"])
                }
            }
        }
        let (acks, acksIn) = AsyncStream.makeStream(of: (ConsumerRecord, [PendingDelivery?], [ProducerRecord]).self)
        let ackTask = Task {
            // Acknowledgements are awaited in the order events were read; a failed delivery is sent again.
            for await (record, deliveries, requests) in acks {
                for (delivery, request) in zip(deliveries, requests) {
                    var pending = delivery
                    while true {
                        do {
                            guard let delivery = pending else { throw KafkaError(.queueFull, "not handed to the producer yet", retriable: true) }
                            _ = try await delivery.position()
                            break
                        } catch let error as KafkaError where !error.isRetriable && error.code != .timedOut {
                            // Cannot ever be written (too large…): said loudly, then the event moves on.
                            self.logger.error("invocation request refused; event skipped", metadata: [
                                "event": "\(record.topic)/\(record.partition)@\(record.offset)", "error": "\(error)",
                            ])
                            break
                        } catch {
                            self.logger.warning("an invocation request was not acknowledged; sending it again", metadata: ["error": "\(error)"])
                            try? await Task.sleep(for: .milliseconds(200))
                            pending = try? await producer.enqueue(request)
                        }
                    }
                }
                await commits.finished(record)
                inFlight.release()
            }
        }

        for await event in consumer.events {
            guard case .record(let record) = event else {
                if case .revoked(let partitions) = event {
                    await clients.revoked(partitions)
                }
                continue
            }
            await commits.started(record)
            await inFlight.acquire()
            let requests = registry.subscribers(of: record.topic).filter { routed?.contains($0.name) ?? true }.map { spec in
                var request = InvocationRequest(
                    invocationID: InvocationRequest.derivedID(topic: record.topic, partition: record.partition, offset: record.offset, function: spec.name),
                    function: spec.name, trigger: "kafka", triggerTopic: record.topic, triggerPartition: record.partition,
                    triggerOffset: record.offset, key: record.key, value: record.value,
                    traceParent: record.header(TraceParent.headerName).flatMap { TraceParent(header: String(decoding: $0, as: UTF8.self)) }?.child()
                        ?? .start(),
                    passthroughHeaders: InvocationRequest.passthrough(record.headers))
                request.triggerTimestampMs = record.timestampMs >= 0 ? record.timestampMs : nil
                return request.producerRecord(topic: configuration.invocationsTopic)
            }
            var deliveries: [PendingDelivery?] = []
            for request in requests {
                // Refused at once (too large…) becomes nil: the ack loop sends it again and reports it.
                deliveries.append(try? await producer.enqueue(request))
            }
            acksIn.yield((record, deliveries, requests))
        }
        acksIn.finish()
        await ackTask.value
        resubscribe.cancel()
        await clients.finish()
    }
}
