import Foundation
import SluiceFunctions
import SluiceSupport

/// Where the runtimes' own files are, and what a function process's environment holds.
public struct Environment: Sendable {
    /// The interpreter for `python3` functions: Debian's, which lives under /usr.
    public var python: String
    /// `runtime/python/sluice_bootstrap.py` of the checkout.
    public var pythonBootstrap: String

    public init(paths: ProjectPaths = .discover()) {
        python =
            FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")
            ? "/usr/bin/python3" : "/usr/local/bin/python3"
        pythonBootstrap = paths.root.appendingPathComponent("runtime/python/sluice_bootstrap.py").path
    }

    /// Only the manifest's `environment_vars`, plus PATH and LANG so that scripts run; nothing of the
    /// platform's own environment (broker addresses, credentials) reaches a function.
    public func variables(for spec: FunctionSpec) -> [String: String] {
        ["PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"].merging(spec.manifest.environmentVars) { $1 }
    }
}
