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
        private var prepared: Sandboxing?

        func get() async throws -> Sandboxing {
            if let prepared { return prepared }
            let sandboxing = try await Sandboxing.prepare(runDirectory: FileManager.default.temporaryDirectory.appendingPathComponent("sluice-tests"))
            prepared = sandboxing
            return sandboxing
        }
    }
}
