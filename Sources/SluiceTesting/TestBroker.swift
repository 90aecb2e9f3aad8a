import Foundation
import SluiceBroker
import SluiceKafka
import SluiceSupport
import SluiceTopics
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The test harness's broker: one embedded broker per test process, on a free loopback port (never 9092),
/// started on first use and killed when the process ends (normally, by a failed test, or by a signal).
///
/// `SLUICE_TEST_BROKERS` points the suite at a broker that is already running instead.
public enum TestBroker {
    /// `host:port` of the broker for this test process.
    public static func address() async throws -> String {
        try await shared.address()
    }

    /// A connection to the test broker with a short timeout.
    public static func connection(timeoutMs: Int = 15_000) async throws -> KafkaConnection {
        KafkaConnection(brokers: [try await address()], clientID: "sluice-test", timeoutMs: timeoutMs)
    }

    private static let shared = Starter()

    private actor Starter {
        private var starting: Task<String, any Error>?

        func address() async throws -> String {
            if let starting { return try await starting.value }
            let task = Task { try await Self.start() }
            starting = task
            return try await task.value
        }

        private static func start() async throws -> String {
            if let external = ProcessInfo.processInfo.environment["SLUICE_TEST_BROKERS"], !external.isEmpty {
                return external
            }
            let port = EmbeddedBroker.freePort()
            let runDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "sluice-test-broker-\(getpid())")
            let broker = EmbeddedBroker(port: port, runDirectory: runDirectory)
            let (pid, _) = try await broker.start(lifetime: .tiedToParent)
            Cleanup.register(pid: pid)
            // The platform topics of the repository's Topics/, as `topics apply` creates them.
            let admin = try KafkaAdmin.make(KafkaConnection(brokers: [broker.address], timeoutMs: 15_000))
            let catalog = try TopicCatalog.load(directory: CommandRunner.packageRoot.appendingPathComponent("Topics"))
            _ = try await TopicPlan.make(catalog: catalog, admin: admin).createMissing(admin: admin)
            await admin.close()
            return broker.address
        }
    }

    /// Kills the broker at normal exit; the kernel's parent-death signal covers abnormal exits.
    private enum Cleanup {
        nonisolated(unsafe) static var pid: pid_t = 0
        static func register(pid: pid_t) {
            Cleanup.pid = pid
            atexit { if Cleanup.pid > 0 { kill(Cleanup.pid, SIGKILL) } }
        }
    }
}

/// Names unique to one test, so tests can share the broker and run in parallel.
public func uniqueName(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
}

/// Runs `body` and fails with a clear message when it takes longer than `timeout`.
///
/// The deadline holds even when `body` ignores cancellation: the caller gets `DeadlineExceeded` at the
/// deadline and `body` is cancelled and left behind, so a stuck wait fails its test instead of hanging
/// the run (a task group would wait for it).
public func withDeadline<T: Sendable>(
    _ timeout: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let outcome = FirstOutcome<T>()
    let work = Task { outcome.settle(await Result { try await body() }) }
    let timer = Task {
        try await Task.sleep(for: timeout)
        outcome.settle(.failure(DeadlineExceeded(what: what, timeout: timeout)))
    }
    defer {
        work.cancel()
        timer.cancel()
    }
    return try await withTaskCancellationHandler {
        try await outcome.value()
    } onCancel: {
        work.cancel()
    }
}

/// The first of several outcomes, handed to one waiter.
private final class FirstOutcome<T: Sendable>: Sendable {
    private struct State {
        var result: Result<T, any Error>?
        var waiter: CheckedContinuation<T, any Error>?
    }
    private let state = Mutex(State())

    func settle(_ result: Result<T, any Error>) {
        let waiter: CheckedContinuation<T, any Error>? = state.withLock { state in
            guard state.result == nil else { return nil }
            state.result = result
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(with: result)
    }

    func value() async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<T, any Error>? = state.withLock { state in
                if state.result == nil { state.waiter = continuation }
                return state.result
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}

extension Result where Failure == any Error {
    init(_ body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}

/// A bounded wait in a test ran out.
public struct DeadlineExceeded: Error, CustomStringConvertible {
    public let what: String
    public let timeout: Duration
    public var description: String { "\(what) did not finish within \(timeout)" }
}
