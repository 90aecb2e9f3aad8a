import Foundation
import SluiceFunctions
import SluiceSupport
import Synchronization

/// A warm `python3` process of one function version: imports the handler once and serves invocations
/// one at a time, one request or a batch per frame, over the framed protocol (docs/runtime-protocol.md).
final class PythonProcess: Sendable {
    let process: FunctionProcess
    /// The manifest's handler (`module.function`).
    let handler: String
    private let served = Atomic<Int>(0)
    /// Processes in its sandbox once ready (launcher, init, python): more after an invocation means the
    /// function left something running, and the process is not reused.
    private let baseline = Atomic<Int>(0)

    private init(process: FunctionProcess, handler: String) {
        self.process = process
        self.handler = handler
    }

    enum Reply: Sendable {
        case frame([UInt8])
        case closed
        /// The process wrote a frame longer than `Frame.maxBytes`, or more than `stdoutLimit` at once.
        case flooded
    }

    /// The most unconsumed output a python process may hold at once: a batch's replies, each a frame.
    static let stdoutLimit = 2 * Frame.maxBytes

    /// Starts the process and waits (up to `timeout`) for its ready frame.
    static func start(spec: FunctionSpec, launcher: ProcessLauncher, timeout: Duration) async throws -> PythonProcess {
        let python = try spawn(spec: spec, launcher: launcher)
        try await python.activate(timeout: timeout)
        return python
    }

    /// Starts the process without letting it import the handler: it initialises the interpreter and the
    /// runtime, says `{"waiting":true}` and waits for its start frame (`activate`). A process made ahead
    /// this way is a standby (docs/sandbox.md, "Fast starts").
    static func spawn(spec: FunctionSpec, launcher: ProcessLauncher) throws -> PythonProcess {
        let bootstrap = URL(fileURLWithPath: launcher.environment.pythonBootstrap).lastPathComponent
        let process = try launcher.start(spec, stdoutLimit: Self.stdoutLimit) { code, runtime in
            [launcher.environment.python, "-I", "-B", runtime + "/" + bootstrap, code, spec.manifest.handler]
        }
        return PythonProcess(process: process, handler: spec.manifest.handler)
    }

    /// The frame a process sends once its interpreter and runtime are initialised.
    static let waitingFrame = Array(#"{"waiting":true}"#.utf8)
    private static let startFrame = Frame.encode(Array(#"{"start":true}"#.utf8))
    private let sawWaiting = Atomic<Bool>(false)
    /// Started ahead as a standby, and taken by a start.
    let wasStandby = Atomic<Bool>(false)

    /// Waits (up to `timeout`) until the process has initialised and waits for its start frame; false
    /// when it ended or sent anything else first.
    func awaitWaiting(timeout: Duration) async -> Bool {
        if sawWaiting.load(ordering: .relaxed) { return true }
        let reply = await withTimeout(timeout, onTimeout: { await self.process.terminateGroup(grace: .zero) }) {
            await self.nextReply()
        }
        guard case .frame(let body) = reply, body == Self.waitingFrame else { return false }
        sawWaiting.store(true, ordering: .relaxed)
        return true
    }

    /// Sends the start frame and waits (up to `timeout`) for the ready frame: the handler imported.
    /// A process that is not ready in time, or failed to import, is ended.
    func activate(timeout: Duration) async throws {
        let process = self.process
        try? await process.write(Self.startFrame)
        // A reply ends only with output or the end of it: a process not ready in time is ended.
        let ready = await withTimeout(timeout, onTimeout: { await process.terminateGroup(grace: .milliseconds(100)) }) {
            var reply = await self.nextReply()
            if case .frame(let body) = reply, body == Self.waitingFrame,
                !self.sawWaiting.exchange(true, ordering: .relaxed)
            {
                reply = await self.nextReply()
            }
            return reply
        }
        guard case .frame(let body) = ready,
            let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            object["ready"] as? Bool == true
        else {
            await process.terminateGroup(grace: .milliseconds(100))
            var reason = "the python3 runtime did not start"
            if case .frame(let body) = ready,
                let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
                object["ready"] != nil
            {
                reason = "importing \(handler) failed: \(object["error"] as? String ?? "?")"
            } else if ready == nil {
                reason += " within \(timeout)"
            }
            throw RuntimeFailure(message: reason, stderrTail: process.stderrTail)
        }
        baseline.store(process.cgroup?.processes.count ?? 0, ordering: .relaxed)
    }

    /// Whether the sandbox holds only what it held when the process became ready.
    var leftNothingBehind: Bool {
        guard let cgroup = process.cgroup else { return true }
        return cgroup.processes.count <= baseline.load(ordering: .relaxed)
    }

    /// How many invocations this process has served.
    var invocations: Int { served.load(ordering: .relaxed) }

    /// Sends the requests of `inputs` in one frame (a batch frame when there are several); false when
    /// the process cannot take it (it ended).
    func send(_ inputs: [InvocationInput]) async -> Bool {
        served.add(inputs.count, ordering: .relaxed)
        do {
            try await process.write(Frame.encode(Frame.request(inputs)))
            return true
        } catch {
            return false
        }
    }

    /// The outcome of the next request sent, from its reply: `crash` when the process ended first. The
    /// caller bounds the wait.
    func nextOutcome() async -> InvocationOutcome {
        let reply = await nextReply()
        if case .flooded = reply {
            var outcome = InvocationOutcome(
                status: .error,
                error:
                    "the function's process wrote more than \(Frame.maxBytes) bytes in one reply, or \(Self.stdoutLimit) at once; killed"
            )
            outcome.retryable = false
            return outcome
        }
        guard case .frame(let body) = reply else { return Self.crashed }
        if body.count > Self.successPrefix.count + 1, body.starts(with: Self.successPrefix) {
            let output = Array(body[Self.successPrefix.count..<(body.count - 1)])
            // The frame may be forged (the function can write to the descriptor): its output goes into
            // a result record as JSON, so it must be JSON (no NaN, nothing after it). A forged frame also
            // leaves the real reply unread: `crash` ends the process, so no later invocation reads it.
            guard (try? JSONSerialization.jsonObject(with: Data(output), options: [.fragmentsAllowed])) != nil else {
                var outcome = InvocationOutcome(status: .crash, error: "the function's reply is not valid JSON")
                outcome.retryable = false
                return outcome
            }
            return InvocationOutcome(status: .success, output: output)
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            return Self.crashed
        }
        var outcome = InvocationOutcome(
            status: .error, error: Self.bounded(object["error"] as? String ?? "unknown error", Self.maxErrorBytes),
            traceback: (object["traceback"] as? String).map { Self.bounded($0, Self.maxTracebackBytes, keepEnd: true) })
        outcome.retryable = object["retryable"] as? Bool ?? true
        return outcome
    }

    /// A function's error message and traceback are its own text, of any size: they are cut to these
    /// (UTF-8 bytes), so the result, log and dead letter that carry them always fit a Kafka record.
    static let maxErrorBytes = 4_096
    static let maxTracebackBytes = 16_384

    /// `text` cut to at most `limit` UTF-8 bytes (its start, or its end when `keepEnd`: a traceback's last
    /// frames matter most), saying how much was cut.
    static func bounded(_ text: String, _ limit: Int, keepEnd: Bool = false) -> String {
        let bytes = Array(text.utf8)
        guard bytes.count > limit else { return text }
        let note = " …[\(bytes.count - limit) of \(bytes.count) bytes cut]… "
        let kept = keepEnd ? bytes.suffix(limit) : bytes.prefix(limit)
        // A cut inside a multi-byte character leaves replacement characters at the edge, never invalid text.
        let part = String(decoding: kept, as: UTF8.self)
        return keepEnd ? note + part : part + note
    }

    /// A success reply is exactly this prefix, the output's JSON, and `}`.
    static let successPrefix = Array("{\"ok\":true,\"output\":".utf8)

    static let crashed = InvocationOutcome(status: .crash, error: "the python3 process ended during the invocation")

    private func nextReply() async -> Reply {
        let reply: Reply = await process.stdout.wait { bytes, end in
            if end == .overflowed { return .flooded }
            // Not a frame this side will hold: the process is ended below.
            if let length = Frame.declaredLength(bytes), length > Frame.maxBytes { return .flooded }
            if let frame = Frame.take(&bytes) { return .frame(frame) }
            return end == nil ? nil : .closed
        }
        if case .flooded = reply { process.stdout.markOverflowed() }
        return reply
    }
}

/// A function process could not be started.
public struct RuntimeFailure: Error, CustomStringConvertible {
    public let message: String
    public let stderrTail: String
    public var description: String { stderrTail.isEmpty ? message : "\(message)\n\(stderrTail)" }
}
