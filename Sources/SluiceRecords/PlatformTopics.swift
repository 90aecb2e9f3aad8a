/// The names of the platform's own topics, in one place. Every component takes them from its
/// configuration, so a test (or a second platform on the same cluster) can run a fully isolated pipeline
/// with `PlatformTopics(prefix:)`.
public struct PlatformTopics: Sendable, Hashable {
    /// The function registry (compacted; key = function name).
    public var functions: String
    /// Invocation requests, written by the router, `sluice invoke` and DLQ replays.
    public var invocations: String
    /// One result per attempt (key = invocation id).
    public var results: String
    /// The seed's Invocation Log records.
    public var invocationLog: String
    /// Dead letters.
    public var deadLetters: String
    /// The replay ledger: which dead letters were replayed.
    public var replays: String
    /// Load samples and Scaling Events.
    public var scaling: String
    /// Every deployed version, kept (compacted; key = `name@version`): what `sluice rollback` reads.
    public var versions: String
    /// Deployed code: artifact manifests and chunks (compacted; key = digest, `<digest>/<n>`).
    public var artifacts: String
    /// Deploy events: deploys, canaries started, promoted and rolled back (key = function name).
    public var deployments: String
    /// Retry tier topics are this prefix followed by a delay (`1s`, `10m`…).
    public var retryPrefix: String

    /// The names `Topics/` defines: `sluice.functions`, `sluice.invocations`, …
    public static let standard = PlatformTopics(prefix: "sluice.")

    /// Every platform topic named `prefix` + its standard suffix (`functions`, `invocations`, `results`,
    /// `invocation-log`, `dlq`, `dlq.replays`, `scaling`, `artifacts`, `function-versions`, `deployments`, `retry.`).
    public init(prefix: String) {
        functions = prefix + "functions"
        invocations = prefix + "invocations"
        results = prefix + "results"
        invocationLog = prefix + "invocation-log"
        deadLetters = prefix + "dlq"
        replays = prefix + "dlq.replays"
        scaling = prefix + "scaling"
        artifacts = prefix + "artifacts"
        versions = prefix + "function-versions"
        deployments = prefix + "deployments"
        retryPrefix = prefix + "retry."
    }
}
