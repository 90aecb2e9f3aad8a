/// Tests that load the whole machine (several worker processes draining thousands of records) run one
/// at a time: on a 2-core machine two of them at once starve each other's workers past their bounded
/// waits. Other tests still run beside them.
///
/// A heavy test's time limit counts its wait at the gate too: give such suites 10 minutes (the heavy tests
/// together take about 5 on a loaded CI machine).
public enum HeavyLoad {
    private actor Gate {
        private var busy = false
        private var waiters: [CheckedContinuation<Void, Never>] = []

        func enter() async {
            if !busy {
                busy = true
                return
            }
            await withCheckedContinuation { waiters.append($0) }
        }

        func leave() {
            if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
        }
    }

    private static let gate = Gate()

    /// Runs `body` when no other heavy test runs.
    public static func exclusive<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await gate.enter()
        do {
            let value = try await body()
            await gate.leave()
            return value
        } catch {
            await gate.leave()
            throw error
        }
    }
}
