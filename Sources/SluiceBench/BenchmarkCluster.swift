import Foundation
import SluiceBroker
import SluiceKafka
import SluiceSupport
import SluiceTopics

/// The cluster a benchmark runs on: given brokers, or an embedded broker of its own on a free port —
/// with the topics of `Topics/` applied.
public struct BenchmarkCluster: Sendable {
    public let connection: KafkaConnection
    private let broker: EmbeddedBroker?

    /// Where an embedded broker of a benchmark keeps its pid file and log.
    static var brokerRunDirectory: URL { ProjectPaths.discover().run.appendingPathComponent("bench") }

    /// - Parameter brokers: `host:port[,…]`; nil: start an embedded broker (stopped by `stop()`).
    static func start(brokers: String?) async throws -> BenchmarkCluster {
        var broker: EmbeddedBroker?
        let address: String
        if let brokers {
            address = brokers
        } else {
            let own = EmbeddedBroker(port: EmbeddedBroker.freePort(), runDirectory: brokerRunDirectory)
            try await own.start(lifetime: .tiedToParent)
            broker = own
            address = own.address
        }
        let connection = KafkaConnection(brokerList: address, clientID: "sluice-bench", timeoutMs: 15_000)
        let catalog = try TopicCatalog.load(directory: ProjectPaths.discover().topics)
        _ = try await KafkaAdmin.with(connection) { admin in
            try await TopicPlan.make(catalog: catalog, admin: admin).createMissing(admin: admin)
        }
        return BenchmarkCluster(connection: connection, broker: broker)
    }

    /// Runs `body` on a cluster started as `start` does, stopped when `body` returns or throws.
    public static func with<T: Sendable>(brokers: String?, _ body: (KafkaConnection) async throws -> T) async throws
        -> T
    {
        let cluster = try await start(brokers: brokers)
        return try await closing(close: cluster.stop) { try await body(cluster.connection) }
    }

    /// Stops the embedded broker, if this started one.
    func stop() async {
        if let broker { await broker.stop() }
    }
}
