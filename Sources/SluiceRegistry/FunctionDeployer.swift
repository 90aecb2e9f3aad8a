import Foundation
import SluiceFunctions
import SluiceKafka
import SluiceRecords
import SluiceSupport

/// Publishes manifests to the registry topic with an incremented version and a code hash.
public struct FunctionDeployer: Sendable {
    /// What deploying one manifest did.
    public enum Outcome: Sendable, Equatable {
        case deployed(FunctionSpec)
        /// Same manifest and code as the current version: nothing published.
        case unchanged(FunctionSpec)
    }

    let producer: KafkaProducer
    public let registry: FunctionRegistry

    public init(producer: KafkaProducer, registry: FunctionRegistry) {
        self.producer = producer
        self.registry = registry
    }

    /// Deploys one manifest; `force` publishes a new version even when nothing changed.
    public func deploy(_ manifest: FunctionManifest, force: Bool = false) async throws -> Outcome {
        let hash = try CodeHasher.hash(folder: manifest.codePath)
        let current = registry.function(named: manifest.name)
        let candidate = FunctionSpec(manifest: manifest, version: (current?.version ?? 0) + 1, codeHash: hash)
        if let current, !force, current.sameDeployment(as: candidate) { return .unchanged(current) }
        _ = try await producer.send(
            ProducerRecord(topic: registry.topic, key: Array(manifest.name.utf8), value: try candidate.encoded()))
        return .deployed(candidate)
    }

    /// Writes a tombstone: the function is gone for every component.
    public func delete(name: String) async throws {
        _ = try await producer.send(ProducerRecord(topic: registry.topic, key: Array(name.utf8), value: nil))
    }
}

extension FunctionDeployer {
    /// Runs `body` with a deployer on the current registry; its clients are closed when it returns.
    public static func with<T: Sendable>(
        connection: KafkaConnection, topic: String = PlatformTopics.standard.functions,
        _ body: (FunctionDeployer) async throws -> T
    ) async throws -> T {
        let registry = try await FunctionRegistry.load(connection: connection, topic: topic)
        return try await closing(close: registry.close) {
            let producer = try KafkaProducer.make(ProducerConfiguration(connection: connection))
            return try await closing(close: producer.close) {
                try await body(FunctionDeployer(producer: producer, registry: registry))
            }
        }
    }
}

extension FunctionDeployer.Outcome {
    /// `{name, version, code_hash, status}` (`deployed` or `unchanged`), as `sluice deploy --json` prints it.
    public var jsonObject: [String: any Sendable] {
        switch self {
        case .deployed(let spec):
            ["name": spec.name, "version": spec.version, "code_hash": spec.codeHash, "status": "deployed"]
        case .unchanged(let spec):
            ["name": spec.name, "version": spec.version, "code_hash": spec.codeHash, "status": "unchanged"]
        }
    }
}
