import Foundation
import SluiceKafka

/// Publishes manifests to the registry topic with an incremented version and a code hash.
public struct FunctionDeployer: Sendable {
    /// What deploying one manifest did.
    public enum Outcome: Sendable, Equatable {
        case deployed(FunctionSpec)
        /// Same manifest and code as the current version: nothing published.
        case unchanged(FunctionSpec)
    }

    let producer: KafkaProducer
    let registry: FunctionRegistry

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
        _ = try await producer.send(ProducerRecord(topic: FunctionRegistry.topic, key: Array(manifest.name.utf8), value: try candidate.encoded()))
        return .deployed(candidate)
    }

    /// Writes a tombstone: the function is gone for every component.
    public func delete(name: String) async throws {
        _ = try await producer.send(ProducerRecord(topic: FunctionRegistry.topic, key: Array(name.utf8), value: nil))
    }
}
