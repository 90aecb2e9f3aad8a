import Foundation
import SluiceFunctions
import SluiceSandbox

/// Starts a function's processes as its manifest says: in a sandbox (`isolation: sandbox`, the default)
/// or, when the platform allows it, as a plain process (`isolation: none`).
public struct ProcessLauncher: Sendable {
    public let environment: Environment
    /// nil: no sandboxes on this worker (only `isolation: none` functions can run).
    public let sandboxing: Sandboxing?
    public let allowIsolationNone: Bool
    public let uid: UInt32
    public let gid: UInt32

    public init(
        environment: Environment = Environment(), sandboxing: Sandboxing?, allowIsolationNone: Bool = false,
        uid: UInt32 = 65534, gid: UInt32 = 65534
    ) {
        self.environment = environment
        self.sandboxing = sandboxing
        self.allowIsolationNone = allowIsolationNone
        self.uid = uid
        self.gid = gid
    }

    /// The sandbox policy of a function.
    public func policy(for manifest: FunctionManifest) -> SandboxPolicy {
        var policy = SandboxPolicy(
            limits: ResourceLimits(
                memoryMB: manifest.memoryMB, cpuMillicores: manifest.cpuMillicores, pidsMax: manifest.pidsMax))
        policy.hostNetwork = manifest.network == .host
        policy.tmpMB = manifest.tmpMB
        policy.openFiles = manifest.openFiles
        policy.fileSizeMB = max(64, manifest.tmpMB * 2)
        policy.uid = uid
        policy.gid = gid
        return policy
    }

    /// Starts `program(code folder, runtime folder)` — the folders as the process sees them: `/code` and
    /// `/runtime` inside a sandbox, the real paths otherwise.
    /// `stdoutLimit`: the most unconsumed output held; more ends the process (`StreamBuffer`).
    /// `standby`: a sandbox that waits for one byte on its stdin before it execs (`Sandboxing.command`).
    func start(
        _ spec: FunctionSpec, stdoutLimit: Int, standby: Bool = false,
        program: (_ code: String, _ runtime: String) -> [String]
    ) throws -> FunctionProcess {
        let manifest = spec.manifest
        var variables = environment.variables(for: spec)
        let runtimeFolder = URL(fileURLWithPath: environment.pythonBootstrap).deletingLastPathComponent().path
        switch manifest.isolation {
        case .none:
            guard allowIsolationNone else {
                throw SandboxRefusal(
                    message:
                        "\(spec.name) asks for isolation: none, which this platform does not allow (sandbox.allow_isolation_none)"
                )
            }
            let command = program(manifest.codePath, runtimeFolder)
            if let dependencies = manifest.dependenciesPath { variables["SLUICE_DEPS"] = dependencies }
            return try FunctionProcess.start(
                command[0], Array(command.dropFirst()), environment: variables, directory: manifest.codePath,
                stdoutLimit: stdoutLimit)
        case .sandbox:
            guard let sandboxing else {
                throw SandboxRefusal(message: "this worker has no sandbox, so it cannot run \(spec.name)")
            }
            if manifest.dependenciesPath != nil { variables["SLUICE_DEPS"] = "/deps" }
            let command = try sandboxing.command(
                policy: policy(for: manifest), code: manifest.codePath, runtime: runtimeFolder,
                dependencies: manifest.dependenciesPath, program: program("/code", "/runtime"), standby: standby)
            return try FunctionProcess.start(
                command.executable, command.arguments, environment: variables, directory: "/", cgroup: command.cgroup,
                inherit: command.inherited, stdoutLimit: stdoutLimit)
        }
    }
}

/// A function that cannot be started under this worker's sandbox settings.
public struct SandboxRefusal: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}
