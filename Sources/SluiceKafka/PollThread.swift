import Foundation
import SluiceSupport
import Synchronization

/// A dedicated thread that runs `iteration` until stopped. librdkafka polls with a timeout block, so they
/// live here and never on Swift's cooperative pool.
final class PollThread: Sendable {
    private let running = Atomic<Bool>(true)
    private let exited = DispatchSemaphore(value: 0)

    init(name: String, iteration: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            while running.load(ordering: .acquiring) { iteration() }
            exited.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Asks the loop to end after its current iteration, without waiting.
    func requestStop() {
        running.store(false, ordering: .releasing)
    }

    /// Stops the loop and waits (off the cooperative pool) for its current iteration to end; `wake`
    /// cuts a waiting iteration short.
    func stop(wake: () -> Void = {}) async {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        wake()
        _ = await BlockingCalls.run { [exited] in exited.wait() }
    }
}
