import CRdKafka

/// The one error type of the Kafka layer: a code, a message a person can act on, retriable/fatal flags,
/// and where it was made.
public struct KafkaError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is. New codes can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Value: Hashable, Sendable {
            case configuration, unreachable, unknownTopic, timedOut, queueFull, messageTooLarge
            case topicAlreadyExists, closed
            case librdkafka(Int32)
            case unsupportedLibrary, commitFailed
        }
        fileprivate let value: Value
        public static let configuration = Code(value: .configuration)
        public static let unreachable = Code(value: .unreachable)
        public static let unknownTopic = Code(value: .unknownTopic)
        public static let timedOut = Code(value: .timedOut)
        public static let queueFull = Code(value: .queueFull)
        public static let messageTooLarge = Code(value: .messageTooLarge)
        public static let topicAlreadyExists = Code(value: .topicAlreadyExists)
        public static let closed = Code(value: .closed)
        public static let unsupportedLibrary = Code(value: .unsupportedLibrary)
        public static let commitFailed = Code(value: .commitFailed)
        /// A librdkafka error code without a more specific mapping.
        public static func librdkafka(_ code: Int32) -> Code { Code(value: .librdkafka(code)) }
        public var description: String {
            switch value {
            case .librdkafka(let raw): return "librdkafka(\(raw))"
            default: return "\(value)"
            }
        }
    }

    public let code: Code
    public let message: String
    /// Trying the same operation again may succeed.
    public let isRetriable: Bool
    /// The client is unusable after this error.
    public let isFatal: Bool
    public let file: String
    public let line: UInt

    public init(
        _ code: Code, _ message: String, retriable: Bool = false, fatal: Bool = false,
        file: String = #fileID, line: UInt = #line
    ) {
        self.code = code
        self.message = message
        self.isRetriable = retriable
        self.isFatal = fatal
        self.file = file
        self.line = line
    }

    public var description: String { message }

    /// Maps a librdkafka error code, with `context` saying what was being done.
    static func rd(
        _ err: rd_kafka_resp_err_t, _ context: String, file: String = #fileID, line: UInt = #line
    ) -> KafkaError {
        let text = String(cString: rd_kafka_err2str(err))
        let message = "\(context): \(text)"
        switch err {
        case RD_KAFKA_RESP_ERR__QUEUE_FULL:
            return KafkaError(.queueFull, message, retriable: true, file: file, line: line)
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
            return KafkaError(.messageTooLarge, message, file: file, line: line)
        case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
            return KafkaError(.unknownTopic, message, file: file, line: line)
        case RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
            return KafkaError(.timedOut, message, retriable: true, file: file, line: line)
        case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
            return KafkaError(.topicAlreadyExists, message, file: file, line: line)
        case RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
            return KafkaError(.unreachable, message, retriable: true, file: file, line: line)
        case RD_KAFKA_RESP_ERR__FATAL:
            return KafkaError(.librdkafka(err.rawValue), message, fatal: true, file: file, line: line)
        default:
            let retriable =
                err == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION
                || err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE
                || err == RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE
                || err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS
            return KafkaError(.librdkafka(err.rawValue), message, retriable: retriable, file: file, line: line)
        }
    }
}
