import Foundation
import SluiceSupport

/// Platform-wide settings (`Config/platform.yaml`): defaults every manifest starts from and limits the
/// workers enforce. A missing file means the built-in defaults.
public struct PlatformConfiguration: Sendable, Hashable {
    /// Retry defaults; a manifest's `retry:` overrides single fields.
    public var retry = RetryPolicy.standard
    /// Events (record values) larger than this are `rejected` without running the function.
    public var maxEventBytes = 262_144
    /// Whether manifests may say `isolation: none` (trusted code, benchmarks).
    public var allowIsolationNone = false
    /// Whether manifests may say `network: host` (the function then reaches what the worker can, the
    /// broker included).
    public var allowHostNetwork = false
    /// Whether workers may run sandboxes without cgroups (no memory, CPU or pids limits) on a host that
    /// has none usable. Without it such a worker refuses to start, naming what is missing.
    public var allowWithoutCgroups = false
    /// The unprivileged user and group functions run as inside their sandbox.
    public var sandboxUID: UInt32 = 65534
    public var sandboxGID: UInt32 = 65534
    /// python3 processes a worker makes ahead for the next start of the versions it runs (docs/sandbox.md,
    /// "Fast starts"); 0 turns fast starts off.
    public var standbyProcesses = 8
    /// Largest code or dependencies archive `sluice deploy` packs and a worker unpacks.
    public var maxArtifactBytes = 64 << 20
    /// A worker removes an unpacked artifact from its cache when no deployed version uses it and no
    /// worker sharing the cache used it for this long (more than the longest `timeout_seconds`, so no
    /// invocation still runs from it).
    public var artifactCacheIdleSeconds = 3600
    /// Public deploy keys (base64) whose signed versions workers run (`deploy.trusted_keys`).
    public var trustedKeys: [String] = []
    /// When canaries are promoted or rolled back on their own, unless a manifest's `deploy:` says
    /// otherwise (`deploy.canary`).
    public var canary = CanaryPolicy.standard

    public init() {}

    public static let standard = PlatformConfiguration()

    static let keys: Set<String> = ["retry", "limits", "sandbox", "deploy"]
    static let limitKeys: Set<String> = ["max_event_bytes", "max_artifact_bytes", "artifact_cache_idle_s"]
    static let sandboxKeys: Set<String> = [
        "allow_isolation_none", "allow_host_network", "allow_without_cgroups", "uid", "gid", "standby_processes",
    ]

    /// Loads `path`; when it does not exist, the built-in defaults unless `required` (a file the user
    /// named), which is then an error.
    /// - Throws: `ConfigurationError` naming file, line and field.
    public static func load(path: String, required: Bool = false) throws -> PlatformConfiguration {
        guard FileManager.default.fileExists(atPath: path) else {
            if required { throw ConfigurationError(file: path, line: 0, field: "", message: "no such file") }
            return .standard
        }
        return try parse(YAMLFile(path: path))
    }

    /// `Config/platform.yaml` of the project.
    public static func loadProject(_ paths: ProjectPaths = .discover()) throws -> PlatformConfiguration {
        try load(path: paths.config.appendingPathComponent("platform.yaml").path)
    }

    public static func parse(_ file: YAMLFile) throws -> PlatformConfiguration {
        let fields = try file.root.mapping(allowed: keys)
        var configuration = PlatformConfiguration()
        if let retry = fields["retry"] { configuration.retry = try RetryPolicy.standard.applying(retry) }
        if let limits = try fields["limits"]?.mapping(allowed: limitKeys) {
            configuration.maxEventBytes =
                try limits["max_event_bytes"]?.int(in: 1...(16 << 20)) ?? configuration.maxEventBytes
            configuration.maxArtifactBytes =
                try limits["max_artifact_bytes"]?.int(in: 4096...(1 << 30)) ?? configuration.maxArtifactBytes
            configuration.artifactCacheIdleSeconds =
                try limits["artifact_cache_idle_s"]?.int(in: 1000...31_536_000)
                ?? configuration.artifactCacheIdleSeconds
        }
        if let sandbox = try fields["sandbox"]?.mapping(allowed: sandboxKeys) {
            configuration.allowIsolationNone = try sandbox["allow_isolation_none"]?.bool() ?? false
            configuration.allowHostNetwork = try sandbox["allow_host_network"]?.bool() ?? false
            configuration.allowWithoutCgroups = try sandbox["allow_without_cgroups"]?.bool() ?? false
            configuration.sandboxUID = UInt32(try sandbox["uid"]?.int(in: 1...4_000_000_000) ?? 65534)
            configuration.sandboxGID = UInt32(try sandbox["gid"]?.int(in: 1...4_000_000_000) ?? 65534)
            configuration.standbyProcesses =
                try sandbox["standby_processes"]?.int(in: 0...1000) ?? configuration.standbyProcesses
        }
        let deploy = try fields["deploy"]?.mapping(allowed: ["trusted_keys", "canary"])
        if let keys = deploy?["trusted_keys"] {
            configuration.trustedKeys = try keys.stringList()
            if let wrong = configuration.trustedKeys.first(where: { !SigningKey.isPublicKey($0) }) {
                throw keys.error(
                    "'\(wrong.prefix(80))' is not a public key (base64 of 32 bytes, as `sluice signing-key create` prints)"
                )
            }
        }
        if let canary = deploy?["canary"] { configuration.canary = try CanaryPolicy.standard.applying(canary) }
        return configuration
    }
}
