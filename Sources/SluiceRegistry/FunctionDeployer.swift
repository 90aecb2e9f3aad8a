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
    /// Where the code is copied; the version's `code_path` is the copy.
    public let store: CodeStore

    public init(producer: KafkaProducer, registry: FunctionRegistry, store: CodeStore = .project) {
        self.producer = producer
        self.registry = registry
        self.store = store
    }

    /// Deploys one manifest: copies its code into the code store and publishes a version whose code is
    /// that copy; `force` publishes a new version even when nothing changed.
    /// - Throws: `DeployRefusal` when the name belongs to another tenant or the registry would refuse
    ///   the version; file errors from copying the code.
    public func deploy(_ manifest: FunctionManifest, force: Bool = false) async throws -> Outcome {
        let (hash, folder) = try store.put(manifest.codePath)
        var stored = manifest
        stored.codePath = folder
        let current = registry.function(named: manifest.name)
        let candidate = FunctionSpec(
            manifest: stored, version: min((current?.version ?? 0) + 1, 1_000_000_000), codeHash: hash)
        var admission = registry.admission
        admission.store = store
        if let problem = admission.problem(with: candidate, key: manifest.name, current: current) {
            throw DeployRefusal(message: "\(manifest.name) was not deployed: \(problem)")
        }
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
        admission: SpecAdmission = SpecAdmission(), _ body: (FunctionDeployer) async throws -> T
    ) async throws -> T {
        let registry = try await FunctionRegistry.load(connection: connection, topic: topic, admission: admission)
        return try await closing(close: registry.close) {
            let producer = try KafkaProducer.make(ProducerConfiguration(connection: connection))
            return try await closing(close: producer.close) {
                try await body(FunctionDeployer(producer: producer, registry: registry))
            }
        }
    }
}

/// A deploy the registry would refuse (another tenant's name, limits the platform does not allow…).
public struct DeployRefusal: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
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
