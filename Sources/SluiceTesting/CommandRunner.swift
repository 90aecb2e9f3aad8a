import CSluiceSys
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
        while url.path != "/"
            && !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path)
        {
            url.deleteLastPathComponent()
        }
        return url
    }()

    /// `SLUICE_BIN`, else `.build/debug/sluice` of the checkout.
    public static var sluiceBinary: String {
        ProcessInfo.processInfo.environment["SLUICE_BIN"]
            ?? packageRoot.appendingPathComponent(".build/debug/sluice").path
    }

    /// Runs `sluice arguments…` with `input` on standard input; kills it when `timeout` passes. Its
    /// commands wait up to 40 s for the broker (`SLUICE_TIMEOUT`, unless the test sets it or passes
    /// `--timeout`): with the whole suite starting on 2 cores, the default 10 s was not always enough.
    public static func sluice(
        _ arguments: [String], input: Data? = nil, environment: [String: String] = [:], timeout: Duration = .seconds(60)
    ) async throws -> CommandResult {
        try await run(
            sluiceBinary, arguments, input: input,
            environment: ["SLUICE_TIMEOUT": "40", "SLUICE_SIGNING_KEY": TestDeployKey.file].merging(environment) { $1 },
            timeout: timeout)
    }

    /// Runs `executable` with its own pipes (`posix_spawn`: Foundation's `Process.run` crashed here while
    /// other threads opened and closed descriptors); kills it when `timeout` passes (SIGTERM, then SIGKILL
    /// 5 s later: a process stuck in a crash handler must fail the test, not hang it).
    public static func run(
        _ executable: String, _ arguments: [String], input: Data? = nil, environment: [String: String] = [:],
        timeout: Duration = .seconds(60)
    ) async throws -> CommandResult {
        let (stdinRead, stdinWrite) = try pipe()
        let (stdoutRead, stdoutWrite) = try pipe()
        let (stderrRead, stderrWrite) = try pipe()
        let started = ContinuousClock.now
        let pid: pid_t
        do {
            pid = try ChildProcess.spawn(
                executable, arguments, environment: ProcessInfo.processInfo.environment.merging(environment) { $1 },
                directory: nil, stdin: stdinRead, stdout: stdoutWrite, stderr: stderrWrite, newSession: false)
        } catch {
            for fd in [stdinRead, stdinWrite, stdoutRead, stdoutWrite, stderrRead, stderrWrite] { close(fd) }
            throw error
        }
        for fd in [stdinRead, stdoutWrite, stderrWrite] { close(fd) }
        async let out = BlockingCalls.run { readAll(stdoutRead) }
        async let err = BlockingCalls.run { readAll(stderrRead) }
        async let written: Void = BlockingCalls.run {
            if let input { _ = input.withUnsafeBytes { write(stdinWrite, $0.baseAddress, $0.count) } }
            close(stdinWrite)
        }
        let status = await withTimeout(
            timeout,
            onTimeout: {
                kill(pid, SIGTERM)
                try? await Task.sleep(for: .seconds(5))
                kill(pid, SIGKILL)
            }
        ) { await BlockingCalls.run { ChildProcess.waitForExit(pid) } }
        // Timed out: the wait above reaped it after the kill; -1 says it did not exit on its own.
        let final = status ?? -1
        _ = await written
        let (stdout, stderr) = await (out, err)
        return CommandResult(
            status: final, stdout: stdout, stderr: stderr, seconds: (ContinuousClock.now - started) / .seconds(1))
    }

    private static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard sluice_pipe_cloexec(&fds) == 0 else { throw TestSetupError("pipe: \(String(cString: strerror(errno)))") }
        return (fds[0], fds[1])
    }

    /// Reads `fd` to its end and closes it.
    private static func readAll(_ fd: Int32) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count > 0 {
                data.append(contentsOf: buffer[0..<count])
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        close(fd)
        return data
    }
}

/// A `sluice` process left running in the background (a worker), its output in a log file. It is tied
/// to the test process (PDEATHSIG): a test run that crashes leaves no worker behind.
public final class BackgroundSluice: Sendable {
    public let pid: pid_t
    public let logFile: URL

    /// `logLevel`: its `SLUICE_LOG_LEVEL` (default: warning).
    public init(_ arguments: [String], logLevel: String? = nil) throws {
        logFile = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("sluice-bg") + ".log")
        let (executable, prefix) =
            logLevel.map { ("/usr/bin/env", ["SLUICE_LOG_LEVEL=\($0)", CommandRunner.sluiceBinary]) }
            ?? (CommandRunner.sluiceBinary, [])
        pid = try ChildProcess.spawn(executable, prefix + arguments, logFile: logFile, lifetime: .tiedToParent)
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

    /// Its resident memory in MB (0 once it has ended).
    public var residentMB: Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let kb = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }?.split(separator: " ").dropFirst()
            .first.flatMap { Int($0) }
        return (kb ?? 0) / 1024
    }
}
