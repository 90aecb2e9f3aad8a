import Dispatch
import Foundation
import Synchronization

/// Waits for termination signals without blocking a thread (`make up` runs until Ctrl-C).
public enum SignalWaiter {
    // Signal sources must stay alive; guarded by `lock`.
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []
    private static let lock = NSLock()

    /// Returns the first of `signals` delivered to the process from now on.
    public static func wait(for signals: [Int32] = [SIGINT, SIGTERM]) async -> Int32 {
        let resumed = Atomic<Bool>(false)
        return await withCheckedContinuation { continuation in
            for number in signals {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler {
                    if !resumed.exchange(true, ordering: .acquiringAndReleasing) { continuation.resume(returning: number) }
                }
                source.resume()
                lock.withLock { sources.append(source) }
            }
        }
    }
}
