import Foundation
import SluiceRuntime
import SluiceSandbox

/// The sandboxing of this test process: checked once (host features, the launcher) and shared.
public enum TestSandbox {
    public static func sandboxing() async throws -> Sandboxing {
        try await shared.get()
    }

    /// A process launcher that sandboxes every function.
    public static func launcher() async throws -> ProcessLauncher {
        ProcessLauncher(sandboxing: try await sandboxing())
    }

    private static let shared = Preparer()

    private actor Preparer {
        private var preparing: Task<Sandboxing, any Error>?

        func get() async throws -> Sandboxing {
            if let preparing { return try await preparing.value }
            let task = Task {
                try await Sandboxing.prepare(
                    runDirectory: FileManager.default.temporaryDirectory.appendingPathComponent("sluice-tests"))
            }
            preparing = task
            return try await task.value
        }
    }
}
