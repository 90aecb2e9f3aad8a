import Foundation
import SluiceFunctions
import SluiceRecords

/// What a runtime needs to run one invocation.
public struct InvocationInput: Sendable {
    public var invocationID: String
    /// The record value (nil for a tombstone).
    public var event: [UInt8]?
    /// The `context` object as JSON text.
    public var contextJSON: [UInt8]

    public init(invocationID: String, event: [UInt8]?, contextJSON: [UInt8]) {
        self.invocationID = invocationID
        self.event = event
        self.contextJSON = contextJSON
    }
}

/// How one invocation ended.
public struct InvocationOutcome: Sendable {
    /// `success`, or the error class of a failure.
    public enum Status: String, Sendable, Codable, CaseIterable {
        case success, timeout, crash, oom, error, rejected, sandbox

        public init(_ errorClass: ErrorClass) { self = Status(rawValue: errorClass.rawValue)! }

        /// The error class of a failure; nil for success.
        public var errorClass: ErrorClass? { ErrorClass(rawValue: rawValue) }
    }
    public var status: Status
    /// The function's return value as JSON text (success only).
    public var output: [UInt8]?
    public var error: String?
    public var traceback: String?
    /// False when the function marked its error as not worth retrying.
    public var retryable: Bool = true
    public var durationMs: Double = 0
    /// The invocation waited for a new process to start.
    public var coldStart: Bool = false
    /// The new process was a standby, started ahead (docs/sandbox.md, "Fast starts").
    public var standbyStart: Bool = false
    /// The function process that ran it.
    public var processID: Int32 = 0
    public var stderrTail: String = ""
    /// Peak resident memory of the function process (for a warm process: its peak so far).
    public var memoryUsedMB: Double = 0
    /// CPU time of this invocation (for a warm process: the delta over the invocation; in a batch, an
    /// equal share of the batch's).
    public var cpuMsUsed: Double = 0
    /// How many invocations went to the process in the frame with this one (1: alone).
    public var batchSize: Int = 1

    public init(status: Status, output: [UInt8]? = nil, error: String? = nil, traceback: String? = nil) {
        self.status = status
        self.output = output
        self.error = error
        self.traceback = traceback
    }
}

/// Frames of the runtime protocol: 4-byte big-endian length, then the bytes.
enum Frame {
    /// The longest frame a worker reads (a 2 MB exception passes; its text is cut afterwards).
    static let maxBytes = 16 << 20

    /// The length the next frame declares, once its 4 bytes are there.
    static func declaredLength(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        return Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
    }

    static func encode(_ body: [UInt8]) -> [UInt8] {
        let length = UInt32(body.count)
        return [UInt8(length >> 24), UInt8((length >> 16) & 0xff), UInt8((length >> 8) & 0xff), UInt8(length & 0xff)]
            + body
    }

    /// Takes one complete frame off the front of `bytes`, if there is one.
    static func take(_ bytes: inout [UInt8]) -> [UInt8]? {
        guard let length = declaredLength(bytes), bytes.count >= 4 + length else { return nil }
        let body = Array(bytes[4..<(4 + length)])
        bytes.removeFirst(4 + length)
        return body
    }

    /// The request frame body for `inputs`: one request, or a batch frame of several.
    static func request(_ inputs: [InvocationInput]) -> [UInt8] {
        guard inputs.count != 1 else { return request(inputs[0]) }
        var body = Array("{\"batch\":[".utf8)
        for (index, input) in inputs.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body += request(input)
        }
        return body + Array("]}".utf8)
    }

    /// The request frame body for one invocation.
    static func request(_ input: InvocationInput) -> [UInt8] {
        var body = Array("{\"invocation_id\":\"\(input.invocationID)\",\"event_b64\":".utf8)
        if let event = input.event {
            body += Array("\"\(Data(event).base64EncodedString())\"".utf8)
        } else {
            body += Array("null".utf8)
        }
        body += Array(",\"context\":".utf8) + input.contextJSON + [UInt8(ascii: "}")]
        return body
    }
}
