import Foundation

/// Runs one long blocking call (reading a pipe to its end, waiting for a process) on a thread of its
/// own, never on Swift's cooperative pool nor on `BlockingCalls`' shared queues, where it would hold up
/// the short calls queued behind it.
public enum DedicatedThread {
    public static func run<T: Sendable>(name: String = "sluice-blocking", _ body: @escaping @Sendable () -> T) async
        -> T
    {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: body()) }
            thread.name = name
            thread.start()
        }
    }
}
