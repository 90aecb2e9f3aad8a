import Foundation
import SluiceKafka
import SluiceSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The embedded Kafka-protocol broker (Tansu): found, started, probed and stopped.
///
/// Tansu 0.6 keeps data in memory only: a restart loses every topic and record.
public struct EmbeddedBroker: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let paths: ProjectPaths
    public let port: Int
    /// Folder of the pid file and log.
    public let runDirectory: URL

    public init(paths: ProjectPaths = .discover(), port: Int = 9092, runDirectory: URL? = nil) {
        self.paths = paths
        self.port = port
        self.runDirectory = runDirectory ?? paths.run
    }

    public var address: String { "127.0.0.1:\(port)" }
    public var pidFile: URL { runDirectory.appendingPathComponent("broker-\(port).pid") }
    public var logFile: URL { runDirectory.appendingPathComponent("broker-\(port).log") }

    /// The Tansu binary: `SLUICE_TANSU`, else `.deps/bin/tansu` of the checkout.
    public func binary() throws -> String {
        let candidate =
            ProcessInfo.processInfo.environment["SLUICE_TANSU"] ?? paths.deps.appendingPathComponent("bin/tansu").path
        guard FileManager.default.isExecutableFile(atPath: candidate) else {
            throw Failure(description: "the embedded broker binary is missing at \(candidate): run `make deps` first")
        }
        return candidate
    }

    public var arguments: [String] {
        ["broker", "--listener-url", "tcp://\(address)", "--advertised-listener-url", "tcp://\(address)", "--silent"]
    }

    /// The pid recorded by `start`, if that process is still alive.
    public func runningPID() -> pid_t? {
        guard let text = try? String(contentsOf: pidFile, encoding: .utf8),
            let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)),
            ChildProcess.isAlive(pid)
        else { return nil }
        return pid
    }

    /// Starts the broker in the background (its own session) and waits until it answers Kafka requests.
    /// - Returns: the pid, and whether it was already running.
    @discardableResult
    public func start(lifetime: ChildProcess.Lifetime = .detached, readyTimeout: Duration = .seconds(15)) async throws
        -> (pid: pid_t, alreadyRunning: Bool)
    {
        if let pid = runningPID() {
            return (pid, true)
        }
        if Self.portIsOpen(port) {
            throw Failure(description: "port \(port) is already in use by another program; choose another with --port")
        }
        try FileManager.default.createDirectory(at: runDirectory, withIntermediateDirectories: true)
        let pid = try ChildProcess.spawn(try binary(), arguments, logFile: logFile, lifetime: lifetime)
        try "\(pid)\n".write(to: pidFile, atomically: true, encoding: .utf8)
        do {
            try await waitUntilReady(pid: pid, timeout: readyTimeout)
        } catch {
            await ChildProcess.terminate(pid)
            try? FileManager.default.removeItem(at: pidFile)
            throw error
        }
        return (pid, false)
    }

    /// Stops the broker started by `start`. Returns false when none was running.
    @discardableResult
    public func stop() async -> Bool {
        guard let pid = runningPID() else {
            try? FileManager.default.removeItem(at: pidFile)
            return false
        }
        await ChildProcess.terminate(pid)
        try? FileManager.default.removeItem(at: pidFile)
        return true
    }

    /// Whether a Kafka broker answers a metadata request at this port.
    public func answers(timeoutMs: Int = 2000) async -> Bool {
        guard Self.portIsOpen(port) else { return false }
        let connection = KafkaConnection(brokers: [address], timeoutMs: timeoutMs)
        return (try? await KafkaAdmin.with(connection) { try await $0.topics() }) != nil
    }

    private func waitUntilReady(pid: pid_t, timeout: Duration) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            guard ChildProcess.isAlive(pid) else {
                let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
                throw Failure(
                    description: "the broker exited at start; its log (\(logFile.path)) ends with:\n\(log.suffix(2000))"
                )
            }
            if Self.portIsOpen(port) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw Failure(description: "the broker did not open port \(port) within \(timeout); see \(logFile.path)")
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    public static func portIsOpen(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// A TCP port on 127.0.0.1 that nothing listens on right now (never 9092).
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        return port == 9092 ? freePort() : port
    }
}
