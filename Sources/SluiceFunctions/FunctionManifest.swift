import Foundation
import SluiceSupport

/// A function's manifest (`Config/functions/*.yaml`), following the seed's Function Metadata schema.
public struct FunctionManifest: Sendable, Hashable, Codable {
    public enum Runtime: String, Sendable, Codable, CaseIterable { case python3, exec }
    /// How records of one partition may run at once.
    public enum Ordering: String, Sendable, Codable, CaseIterable {
        /// Records of one key in order, different keys concurrently.
        case key
        /// The partition strictly in order.
        case partition
        /// Fully concurrent.
        case none
    }

    /// `sandbox`: namespaces, cgroups, seccomp (docs/sandbox.md). `none`: a plain process, for trusted
    /// code and benchmarks only, refused unless `Config/platform.yaml` allows it.
    public enum Isolation: String, Sendable, Codable, CaseIterable { case sandbox, none }
    /// `none`: an own network namespace with only a down loopback interface. `host`: the host's network
    /// — the function can reach everything the worker can, the broker included (docs/sandbox.md).
    public enum Network: String, Sendable, Codable, CaseIterable { case none, host }

    public var name: String
    public var tenant: String
    public var runtime: Runtime
    /// python3: `module.function`; exec: path of the executable inside the code folder.
    public var handler: String
    /// Absolute path of the code folder (on a worker: the artifact's folder in its cache).
    public var codePath: String
    /// Absolute path of a folder of dependencies (python packages…) packed as an artifact of its own,
    /// shared by every version that has the same one; mounted read-only at `/deps`.
    public var dependenciesPath: String?
    public var memoryMB: Int = 128
    public var cpuMillicores: Int = 1000
    public var timeoutSeconds: Double = 30
    public var maxConcurrency: Int = 8
    public var minWarm: Int = 0
    public var ordering: Ordering = .key
    public var eventTriggers: [String] = []
    public var environmentVars: [String: String] = [:]
    /// The platform defaults (`Config/platform.yaml`, at deploy time) with the manifest's `retry:` applied.
    public var retry = RetryPolicy.standard
    public var isolation = Isolation.sandbox
    public var network = Network.none
    /// Size of the private `/tmp` (the seed's ephemeral storage).
    public var tmpMB = 64
    /// Processes and threads the sandbox may hold at once.
    public var pidsMax = 64
    public var openFiles = 256
    /// Whether the supervisor may pre-warm processes ahead of the function's predicted demand (nil: yes).
    public var predictivePrewarm: Bool?
    /// When a canary of this function is promoted or rolled back on its own: the platform defaults
    /// (`deploy.canary`, at deploy time) with the manifest's `deploy:` applied (nil in records written
    /// before it existed: the built-in defaults).
    public var canaryPolicy: CanaryPolicy?

    /// A manifest with defaults for everything but identity, runtime and code.
    public init(name: String, tenant: String, runtime: Runtime, handler: String, codePath: String) {
        self.name = name
        self.tenant = tenant
        self.runtime = runtime
        self.handler = handler
        self.codePath = codePath
    }

    enum CodingKeys: String, CodingKey {
        case name, tenant, runtime, handler
        case codePath = "code_path"
        case memoryMB = "memory_mb"
        case cpuMillicores = "cpu_millicores"
        case timeoutSeconds = "timeout_seconds"
        case maxConcurrency = "max_concurrency"
        case minWarm = "min_warm"
        case ordering
        case eventTriggers = "event_triggers"
        case environmentVars = "environment_vars"
        case retry, isolation, network
        case tmpMB = "tmp_mb"
        case pidsMax = "pids_max"
        case openFiles = "open_files"
        case predictivePrewarm = "predictive_prewarm"
        case dependenciesPath = "dependencies_path"
        case canaryPolicy = "deploy"
    }

    static let keys: Set<String> = [
        "name", "tenant", "runtime", "handler", "code", "memory_mb", "cpu_millicores", "timeout_seconds",
        "max_concurrency",
        "min_warm", "ordering", "event_triggers", "environment_vars", "description", "retry", "isolation", "network",
        "tmp_mb", "pids_max",
        "open_files", "predictive_prewarm", "dependencies", "deploy",
    ]

    /// Loads and validates a manifest file.
    /// - Throws: `ConfigurationError` naming file, line and field (missing field, wrong type, unknown
    ///   runtime, code folder or handler that does not exist…).
    public static func load(path: String, platform: PlatformConfiguration = .standard) throws -> FunctionManifest {
        try parse(
            YAMLFile(path: path), manifestDirectory: URL(fileURLWithPath: path).deletingLastPathComponent(),
            platform: platform)
    }

    public static func parse(_ file: YAMLFile, manifestDirectory: URL, platform: PlatformConfiguration = .standard)
        throws -> FunctionManifest
    {
        let fields = try file.root.mapping(allowed: keys)
        let nameValue = try fields.required("name")
        let name = try nameValue.string()
        guard FunctionBounds.isValidName(name) else {
            throw nameValue.error(
                "'\(name)' is not a valid function name: lowercase letters, digits and '-', starting with a letter, at most 63"
            )
        }
        let tenantValue = try fields.required("tenant")
        let tenant = try tenantValue.string()
        guard FunctionBounds.isValidTenant(tenant) else {
            throw tenantValue.error("'\(tenant)' is not a valid tenant: 1 to 63 letters, digits, '-' and '_'")
        }
        let runtimeValue = try fields.required("runtime")
        guard let runtime = Runtime(rawValue: try runtimeValue.string()) else {
            throw runtimeValue.error(
                "unknown runtime '\(try runtimeValue.scalar())'; known runtimes are \(Runtime.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        let codeValue = try fields.required("code")
        let code = URL(fileURLWithPath: try codeValue.string(), relativeTo: manifestDirectory).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: code.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw codeValue.error("the code folder \(code.path) does not exist")
        }
        var dependenciesPath: String?
        if let dependencies = fields["dependencies"] {
            let folder = URL(fileURLWithPath: try dependencies.string(), relativeTo: manifestDirectory)
                .standardizedFileURL
            guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue
            else { throw dependencies.error("the dependencies folder \(folder.path) does not exist") }
            dependenciesPath = folder.path
        }
        let handlerValue = try fields.required("handler")
        let handler = try handlerValue.string()
        switch runtime {
        case .python3:
            let parts = handler.split(separator: ".")
            guard parts.count >= 2 else {
                throw handlerValue.error("a python3 handler is module.function, got '\(handler)'")
            }
            let module = parts.dropLast().joined(separator: "/")
            guard FileManager.default.fileExists(atPath: code.appendingPathComponent(module + ".py").path) else {
                throw handlerValue.error("module \(parts.dropLast().joined(separator: ".")) not found in \(code.path)")
            }
        case .exec:
            guard !handler.hasPrefix("/"), !handler.split(separator: "/").contains(".."),
                FileManager.default.isExecutableFile(atPath: code.appendingPathComponent(handler).path)
            else { throw handlerValue.error("\(handler) is not an executable file inside \(code.path)") }
        }
        var manifest = FunctionManifest(
            name: name, tenant: tenant, runtime: runtime, handler: handler, codePath: code.path)
        manifest.dependenciesPath = dependenciesPath
        manifest.memoryMB = try fields["memory_mb"]?.int(in: FunctionBounds.memoryMB) ?? manifest.memoryMB
        manifest.cpuMillicores =
            try fields["cpu_millicores"]?.int(in: FunctionBounds.cpuMillicores) ?? manifest.cpuMillicores
        if let timeout = fields["timeout_seconds"] {
            guard let seconds = Double(try timeout.scalar()), seconds > 0,
                FunctionBounds.timeoutSeconds.contains(seconds)
            else {
                throw timeout.error("expected a number of seconds above 0 and at most 900")
            }
            manifest.timeoutSeconds = seconds
        }
        manifest.maxConcurrency =
            try fields["max_concurrency"]?.int(in: FunctionBounds.maxConcurrency) ?? manifest.maxConcurrency
        manifest.minWarm = try fields["min_warm"]?.int(in: FunctionBounds.minWarm) ?? manifest.minWarm
        manifest.predictivePrewarm = try fields["predictive_prewarm"]?.bool()
        if let ordering = fields["ordering"] {
            guard let value = Ordering(rawValue: try ordering.string()) else {
                throw ordering.error("expected one of \(Ordering.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            manifest.ordering = value
        }
        if let triggers = fields["event_triggers"] {
            manifest.eventTriggers = try triggers.stringList()
            guard FunctionBounds.triggerCount.contains(manifest.eventTriggers.count) else {
                throw triggers.error("at most \(FunctionBounds.triggerCount.upperBound) trigger topics")
            }
            if let problem = manifest.eventTriggers.lazy.compactMap({ FunctionBounds.triggerProblem($0) }).first {
                throw triggers.error(problem)
            }
        }
        if let variables = fields["environment_vars"] {
            manifest.environmentVars = try variables.stringMap()
            if let problem = SpecAdmission.environmentProblem(manifest.environmentVars) {
                throw variables.error(problem)
            }
        }
        manifest.retry = try fields["retry"].map { try platform.retry.applying($0) } ?? platform.retry
        manifest.canaryPolicy = try fields["deploy"].map { try platform.canary.applying($0) } ?? platform.canary
        if let network = fields["network"] {
            manifest.network = try network.choice(Network.self)
            if manifest.network == .host, !platform.allowHostNetwork {
                throw network.error(
                    "network: host lets the function reach everything the worker can, the broker included; Config/platform.yaml must set sandbox.allow_host_network: true"
                )
            }
        }
        manifest.tmpMB = try fields["tmp_mb"]?.int(in: FunctionBounds.tmpMB) ?? manifest.tmpMB
        manifest.pidsMax = try fields["pids_max"]?.int(in: FunctionBounds.pidsMax) ?? manifest.pidsMax
        manifest.openFiles = try fields["open_files"]?.int(in: FunctionBounds.openFiles) ?? manifest.openFiles
        if let isolation = fields["isolation"] {
            manifest.isolation = try isolation.choice(Isolation.self)
            if manifest.isolation == .none, !platform.allowIsolationNone {
                throw isolation.error(
                    "isolation: none runs the function without a sandbox; Config/platform.yaml must set sandbox.allow_isolation_none: true"
                )
            }
        }
        return manifest
    }
}
