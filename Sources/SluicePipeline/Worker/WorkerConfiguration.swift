import SluiceFunctions
import SluiceKafka
import SluiceRecords
import SluiceSupport

extension Worker {
    /// What a worker consumes, where it writes, and how much it runs at once.
    public struct Configuration: Sendable {
        public var connection: KafkaConnection
        public var workerID: String
        /// Invocations running at once in this worker.
        public var concurrency: Int = 16
        /// Records taken from Kafka and not finished (queued behind their key or running).
        public var maxInFlight: Int = 2000
        /// …and at most this many bytes of them (keys, values and headers).
        public var maxInFlightBytes: Int = 128 << 20
        public var groupID: String = "sluice-workers"
        /// How long a rebalance that takes partitions away waits for their running invocations to finish
        /// and be committed, so that their next owner does not run them again. Longer ones go on here, and
        /// may also run there; 0: revocations do not wait. Above 6.6 s the group's rejoin limit
        /// (`max.poll.interval.ms`, 10 s) is raised to 1.5× the grace, and the embedded broker's joins may
        /// take longer with it.
        public var revocationGrace: Duration = .seconds(6)
        /// The platform topics: invocations consumed; results, invocation log, dead letters and load
        /// samples written; retry tiers discovered by `retryPrefix` unless `retryTiers` names them.
        public var topics = PlatformTopics.standard
        /// Idle warm processes are retired after this long.
        public var warmTTL: Duration = .seconds(60)
        /// Retry tier topics; nil: those named `<topics.retryPrefix><delay>` on the broker.
        public var retryTiers: RetryTiers?
        /// Records held in memory by the retry consumer until they are due, and their bytes at most.
        public var maxRetriesHeld: Int = 10_000
        public var maxRetriesHeldBytes: Int = 128 << 20
        /// Results per partition read at start, to know which invocations already ended (0: none, for a
        /// fresh benchmark topic).
        public var resultsWindowPerPartition: Int64 = 100_000
        /// Limits (`max_event_bytes`) and sandbox settings from `Config/platform.yaml`.
        public var platform = PlatformConfiguration.standard
        /// Signs the results this worker writes and authenticates those it trusts; nil: the project's
        /// key (`ResultSigner.project()`).
        public var resultSigner: ResultSigner?
        /// Public deploy keys (base64) whose signed versions this worker runs, beside the platform's
        /// `deploy.trusted_keys`.
        public var trustedKeys: Set<String> = []
        /// Where artifacts are unpacked (one read-only folder per digest); nil: `.run/artifacts`.
        public var artifactCache: String?
        /// The retry consumer's group.
        public var retryGroupID: String { groupID + "-retry" }

        /// Every key this worker trusts: `trustedKeys` and the platform's.
        public var allTrustedKeys: Set<String> { trustedKeys.union(platform.trustedKeys) }

        /// The artifact cache's folder.
        public var artifactCacheFolder: String {
            artifactCache ?? ProjectPaths.discover().run.appendingPathComponent("artifacts").path
        }

        public init(connection: KafkaConnection, workerID: String) {
            self.connection = connection
            self.workerID = workerID
        }
    }
}
