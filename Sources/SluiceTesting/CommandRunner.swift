import Foundation
import SluiceSupport

/// What a finished command printed and returned.
public struct CommandResult: Sendable {
    public let status: Int32
    public let stdout: Data
    public let stderr: Data
    public let seconds: Double
    public var output: String { String(decoding: stdout, as: UTF8.self) }
    public var errors: String { String(decoding: stderr, as: UTF8.self) }
}

/// Runs the built `sluice` binary (or another program) as a real process.
public enum CommandRunner {
    /// The checkout this test binary was built from.
    public static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
            url.deleteLastPathComponent()
        }
        return url
    }()

    /// `SLUICE_BIN`, else `.build/debug/sluice` of the checkout.
    public static var sluiceBinary: String {
        ProcessInfo.processInfo.environment["SLUICE_BIN"] ?? packageRoot.appendingPathComponent(".build/debug/sluice").path
    }

    /// Runs `sluice arguments…` with `input` on standard input; kills it when `timeout` passes.
    public static func sluice(
        _ arguments: [String], input: Data? = nil, environment: [String: String] = [:], timeout: Duration = .seconds(60)
    ) async throws -> CommandResult {
        try await run(sluiceBinary, arguments, input: input, environment: environment, timeout: timeout)
    }

    public static func run(
        _ executable: String, _ arguments: [String], input: Data? = nil, environment: [String: String] = [:], timeout: Duration = .seconds(60)
    ) async throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let stdout = Pipe(), stderr = Pipe(), stdin = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = stdin
        let started = ContinuousClock.now
        let exited = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { exited.continuation.yield($0.terminationStatus) }
        try ProcessLaunch.run(process)
        // Pipe reads and writes block: they run on Dispatch threads, never on the cooperative pool.
        let readers = [stdout, stderr].map { pipe in
            Task { await BlockingCalls.run { pipe.fileHandleForReading.readDataToEndOfFile() } }
        }
        let writer = Task {
            await BlockingCalls.run {
                if let input { try? stdin.fileHandleForWriting.write(contentsOf: input) }
                try? stdin.fileHandleForWriting.close()
            }
        }
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            process.terminate()
            // A process stuck in a crash handler ignores SIGTERM: the test must fail, not hang.
            try await Task.sleep(for: .seconds(5))
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        var status: Int32 = -1
        for await code in exited.stream {
            status = code
            break
        }
        watchdog.cancel()
        await writer.value
        let out = await readers[0].value
        let err = await readers[1].value
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        return CommandResult(status: status, stdout: out, stderr: err, seconds: seconds)
    }
}

/// A `sluice` process left running in the background (a worker), its output in a log file. It is tied
/// to the test process (PDEATHSIG): a test run that crashes leaves no worker behind.
public final class BackgroundSluice: Sendable {
    public let pid: pid_t
    public let logFile: URL

    public init(_ arguments: [String]) throws {
        logFile = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("sluice-bg") + ".log")
        pid = try ChildProcess.spawn(CommandRunner.sluiceBinary, arguments, logFile: logFile, lifetime: .tiedToParent)
    }

    /// SIGKILL: no chance to finish, flush or commit anything.
    public func killHard() {
        kill(pid, SIGKILL)
        waitUntilGone()
    }

    /// SIGTERM and wait for a graceful exit.
    public func stop() {
        kill(pid, SIGTERM)
        waitUntilGone()
    }

    /// SIGTERM; returns its exit status once it has ended and how long that took.
    public func terminate() async -> (status: Int32, seconds: Double) {
        let start = ContinuousClock.now
        kill(pid, SIGTERM)
        let status = await ChildProcess.exitStatus(pid)
        return (status, (ContinuousClock.now - start) / .seconds(1))
    }

    /// The spawning thread reaps it; wait (up to 60 s, then SIGKILL) until it is gone.
    private func waitUntilGone() {
        for _ in 0..<6000 where ChildProcess.isAlive(pid) { usleep(10_000) }
        if ChildProcess.isAlive(pid) { kill(pid, SIGKILL) }
    }

    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }
}
