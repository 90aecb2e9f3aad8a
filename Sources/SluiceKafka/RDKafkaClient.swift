import CRdKafka
import Dispatch
import Foundation
import Logging
import Synchronization

/// Owns one librdkafka handle (`rd_kafka_t`). librdkafka handles are thread-safe C objects; the raw
/// pointer is reachable only through `withHandle`.
final class RDKafkaClient: @unchecked Sendable {
    enum Kind { case producer, consumer }

    /// The oldest librdkafka that talks to the embedded broker (2.0.2 fails its ApiVersions parsing).
    static let minimumVersion: Int32 = 0x0201_00ff

    private let handle: OpaquePointer
    private let mainQueue: OpaquePointer
    let kind: Kind
    let brokerList: String
    let logger: Logger
    /// The last error librdkafka reported on its own (connection failures and the like), for messages.
    private let lastErrorText = Mutex<String?>(nil)

    private init(handle: OpaquePointer, kind: Kind, brokerList: String, logger: Logger) {
        self.handle = handle
        self.mainQueue = rd_kafka_queue_get_main(handle)
        self.kind = kind
        self.brokerList = brokerList
        self.logger = logger
    }

    /// Creates a handle from `properties`. `events` is a mask of RD_KAFKA_EVENT_* served on the main queue.
    static func make(
        kind: Kind, properties: [String: String], events: Int32, logger: Logger,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws -> RDKafkaClient {
        try checkLibraryVersion()
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(.configuration, "librdkafka could not allocate a configuration")
        }
        var errorBuffer = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            if rd_kafka_conf_set(conf, key, value, &errorBuffer, errorBuffer.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw KafkaError(.configuration, "Kafka setting \(key)=\(value) was refused: \(errorText(errorBuffer))")
            }
        }
        rd_kafka_conf_set_events(conf, events | RD_KAFKA_EVENT_LOG | RD_KAFKA_EVENT_ERROR)
        configure(conf)
        let type = kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER
        guard let handle = rd_kafka_new(type, conf, &errorBuffer, errorBuffer.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(.configuration, "librdkafka refused the client: \(errorText(errorBuffer))")
        }
        return RDKafkaClient(
            handle: handle, kind: kind, brokerList: properties["bootstrap.servers"] ?? "?", logger: logger)
    }

    static func checkLibraryVersion() throws {
        let version = rd_kafka_version()
        guard version >= minimumVersion else {
            throw KafkaError(
                .unsupportedLibrary,
                "librdkafka \(String(cString: rd_kafka_version_str())) is loaded, but Sluice needs 2.1 or newer "
                    + "(Debian's 2.0.2 cannot talk to the embedded broker). Run `make deps` and rebuild with `make build`."
            )
        }
    }

    /// Destroying a handle joins librdkafka's threads, so it happens on a queue of its own, never on
    /// the thread (possibly of the cooperative pool) that dropped the last reference. The process waits
    /// for pending destroys at exit: exiting while librdkafka's threads are being torn down corrupted
    /// the heap (seen once as a "double free" in a broker thread's exit). The wait is bounded: a destroy
    /// can also hang (a consumer's broker thread that never ends, seen once in the test process), and a
    /// process that never exits is worse.
    private static let destroyer: DispatchQueue = {
        let queue = DispatchQueue(label: "sluice.kafka.destroy")
        atexit { RDKafkaClient.drainDestroyer() }
        return queue
    }()

    /// How long a process waits at exit for its Kafka clients to finish closing.
    static let exitDrainSeconds = 30

    private static func drainDestroyer() {
        let drained = DispatchSemaphore(value: 0)
        destroyer.async { drained.signal() }
        if drained.wait(timeout: .now() + .seconds(exitDrainSeconds)) == .timedOut {
            FileHandle.standardError.write(
                Data(
                    "sluice: a Kafka client did not finish closing within \(exitDrainSeconds) s; exiting without it\n"
                        .utf8))
        }
    }

    /// The raw pointers handed to the destroyer (nothing else uses them any more).
    private struct Doomed: @unchecked Sendable {
        let handle: OpaquePointer
        let mainQueue: OpaquePointer
        let consumer: Bool
    }

    deinit {
        let doomed = Doomed(handle: handle, mainQueue: mainQueue, consumer: kind == .consumer)
        Self.destroyer.async {
            rd_kafka_queue_destroy(doomed.mainQueue)
            if doomed.consumer {
                rd_kafka_destroy_flags(doomed.handle, Int32(RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE))
            } else {
                rd_kafka_destroy(doomed.handle)
            }
        }
    }

    func withHandle<T>(_ body: (OpaquePointer) throws -> T) rethrows -> T {
        try body(handle)
    }

    var lastError: String? { lastErrorText.withLock { $0 } }

    /// Fetches the metadata of `topics` into the client's cache (blocking, up to `timeoutMs`). A client
    /// that looks up an offset before it knows the partition's leader retries only 500 ms later: every
    /// assign at a logical offset (beginning, end) just after the client was made paid that.
    func learnLeaders(of topics: Set<String>, timeoutMs: Int32) {
        for topic in topics {
            let topicHandle = rd_kafka_topic_new(handle, topic, nil)
            var metadata: UnsafePointer<rd_kafka_metadata>?
            _ = rd_kafka_metadata(handle, 0, topicHandle, &metadata, timeoutMs)
            if let metadata { rd_kafka_metadata_destroy(metadata) }
            if let topicHandle { rd_kafka_topic_destroy(topicHandle) }
        }
    }

    /// Makes a `serveMainQueue` waiting now return at once (to stop its poll thread without waiting
    /// out its timeout).
    func wakeMainQueue() {
        rd_kafka_queue_yield(mainQueue)
    }

    /// Serves events of the main queue for up to `timeoutMs`; events other than logs and errors go to
    /// `handle`. Returns whether any event was served.
    @discardableResult
    func serveMainQueue(timeoutMs: Int32, handle other: (OpaquePointer) -> Void = { _ in }) -> Bool {
        guard let event = rd_kafka_queue_poll(mainQueue, timeoutMs) else { return false }
        defer { rd_kafka_event_destroy(event) }
        switch rd_kafka_event_type(event) {
        case RD_KAFKA_EVENT_LOG:
            var facility: UnsafePointer<CChar>?
            var text: UnsafePointer<CChar>?
            var level: Int32 = 0
            if rd_kafka_event_log(event, &facility, &text, &level) == 0, let text {
                let message = String(cString: text)
                if level <= 4 { lastErrorText.withLock { $0 = message } }
                logger.log(
                    level: level <= 4 ? .info : .debug, "librdkafka: \(message)",
                    metadata: ["facility": .string(facility.map { String(cString: $0) } ?? "")])
            }
        case RD_KAFKA_EVENT_ERROR:
            let message = String(cString: rd_kafka_event_error_string(event))
            lastErrorText.withLock { $0 = message }
            let fatal = rd_kafka_event_error_is_fatal(event) != 0
            logger.log(level: fatal ? .error : .info, "kafka client error: \(message)", metadata: ["fatal": "\(fatal)"])
        default:
            other(event)
        }
        return true
    }

    /// Names the brokers and the last connection error, for messages about an unreachable cluster.
    func unreachableMessage(waitedMs: Int) -> String {
        var message = "cannot reach the Kafka broker at \(brokerList) within \(waitedMs / 1000) s"
        if let lastError { message += " (last error: \(lastError))" }
        return message + ". Is it running? `sluice broker status` tells; `--brokers` or SLUICE_BROKERS choose another."
    }
}

/// The text of a NUL-terminated error buffer filled by librdkafka.
func errorText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
