import Foundation

/// Foundation's `Process.run()` on Linux is not safe to call from several threads at once (seen here: a
/// crash in its memcpy while tests launched processes in parallel). Every `Process` launch of this
/// code base goes through this lock.
public enum ProcessLaunch {
    private static let lock = NSLock()

    public static func run(_ process: Process) throws {
        try lock.withLock { try process.run() }
    }
}
