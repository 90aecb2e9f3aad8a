import Foundation
import SluiceBroker
import SluiceKafka
import SluiceSupport
import SluiceTopics

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
public func withDeadline<T: Sendable>(
    _ timeout: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        guard let first = try await group.next(), let value = first else {
            group.cancelAll()
            throw DeadlineExceeded(what: what, timeout: timeout)
        }
        group.cancelAll()
        return value
    }
}

/// A bounded wait in a test ran out.
public struct DeadlineExceeded: Error, CustomStringConvertible {
    public let what: String
    public let timeout: Duration
    public var description: String { "\(what) did not finish within \(timeout)" }
}
