import Foundation
import SluiceArtifacts
import SluiceFunctions
import SluiceKafka
import SluiceRecords
import SluiceSupport

/// Deploys manifests: packs the code (and dependencies) into artifacts on the artifacts topic, signs the
/// version and publishes it on the registry topic with an incremented version.
public struct FunctionDeployer: Sendable {
    /// What deploying one manifest did.
    public enum Outcome: Sendable, Equatable {
        case deployed(FunctionSpec)
        /// Same manifest, code and dependencies as the current version: nothing published.
        case unchanged(FunctionSpec)
    }

    let producer: KafkaProducer
    public let registry: FunctionRegistry
    /// nil: a deployer that only deletes.
    public let signingKey: SigningKey?
    public let shelf: ArtifactShelf
    /// Where every version is kept (`sluice.function-versions`).
    public let versionsTopic: String
    /// Where every deploy, promotion and rollback is told (`sluice.deployments`).
    public let deploymentsTopic: String
    private let highestVersions = HighestVersions()

    public init(
        producer: KafkaProducer, registry: FunctionRegistry, signingKey: SigningKey?, shelf: ArtifactShelf,
        versionsTopic: String = PlatformTopics.standard.versions,
        deploymentsTopic: String = PlatformTopics.standard.deployments
    ) {
        self.producer = producer
        self.registry = registry
        self.signingKey = signingKey
        self.shelf = shelf
        self.versionsTopic = versionsTopic
        self.deploymentsTopic = deploymentsTopic
    }

    /// Deploys one manifest; `force` publishes a new version even when nothing changed. An artifact the
    /// current version already has (same digest) is not published again. `canary`: the new version
    /// takes that percent of new invocations beside the current one until `promote` or `rollback`
    /// (a canary already baking is replaced).
    /// - Throws: `ArtifactError` (a folder that cannot be packed, naming the path), `DeployRefusal` when
    ///   the name belongs to another tenant or the registry would refuse the version, or a canary has no
    ///   current version beside it; `KafkaError`.
    public func deploy(_ manifest: FunctionManifest, force: Bool = false, canary: Int? = nil) async throws -> Outcome {
        guard let signingKey else { throw DeployRefusal(message: "\(manifest.name) was not deployed: no signing key") }
        let limit = registry.admission.platform.maxArtifactBytes
        let (code, dependencies) = try await BlockingCalls.run {
            (
                try Artifact.pack(folder: manifest.codePath, limit: limit),
                try manifest.dependenciesPath.map { try Artifact.pack(folder: $0, limit: limit) }
            )
        }
        var stored = manifest
        stored.codePath = ""
        stored.dependenciesPath = nil
        let live = registry.function(named: manifest.name)
        let current = live?.stable
        if canary != nil, current == nil {
            throw DeployRefusal(
                message:
                    "\(manifest.name) was not deployed: a canary needs a current version beside it; deploy without --canary first"
            )
        }
        // Versions are never reused: after a rollback the current one is not the highest.
        let highest = max(
            current?.version ?? 0,
            try await highestVersions.of(manifest.name, connection: shelf.connection, topic: versionsTopic))
        var candidate = FunctionSpec(manifest: stored, version: min(highest + 1, 1_000_000_000), codeHash: code.digest)
        candidate.dependencies = dependencies.map {
            ArtifactReference(digest: $0.digest, bytes: $0.bytes.count, partition: 0, offset: 0)
        }
        if let problem = registry.admission.problem(with: candidate, key: manifest.name, current: current) {
            throw DeployRefusal(message: "\(manifest.name) was not deployed: \(problem)")
        }
        if let current, !force, current.sameDeployment(as: candidate) { return .unchanged(current) }
        candidate.artifact = try await reuse(current?.artifact, code)
        if let dependencies { candidate.dependencies = try await reuse(current?.dependencies, dependencies) }
        try candidate.sign(with: signingKey)
        // The record keeps the function's aliases; a canary goes beside the live version.
        var record = live?.replacingLive(with: candidate) ?? candidate
        if let canary, let live {
            record = live
            record.canary = CanaryRoute(spec: candidate, percent: canary)
            if let problem = registry.admission.problem(with: record, key: manifest.name, current: current) {
                throw DeployRefusal(message: "\(manifest.name) was not deployed: \(problem)")
            }
        }
        _ = try await producer.send(
            ProducerRecord(
                topic: versionsTopic, key: Array("\(manifest.name)@\(candidate.version)".utf8),
                value: try candidate.encoded()))
        highestVersions.published(manifest.name, candidate.version)
        _ = try await producer.send(
            ProducerRecord(topic: registry.topic, key: Array(manifest.name.utf8), value: try record.encoded()))
        var event = DeployEvent(
            function: manifest.name, eventType: canary == nil ? .deployed : .canaryStarted,
            fromVersion: current?.version, toVersion: candidate.version,
            reason: canary.map { "sluice deploy --canary \($0)" } ?? "sluice deploy")
        event.canaryPercent = canary
        try await announce(event)
        return .deployed(candidate)
    }

    /// Makes the baking canary of `name` its current version (its share becomes 100 %). `evidence`: why
    /// (default: an operator's `sluice promote`), told on the deployments topic.
    /// - Returns: the version that was stable, and the one that is now.
    /// - Throws: `DeployRefusal` when the function is not deployed or has no canary (or, with
    ///   `evidence`, not the canary the evidence is about).
    public func promote(name: String, evidence: DeployEvidence? = nil) async throws -> (
        from: FunctionSpec, to: FunctionSpec
    ) {
        let (current, canary) = try baking(name, evidence: evidence, doing: "promote")
        _ = try await producer.send(
            ProducerRecord(
                topic: registry.topic, key: Array(name.utf8),
                value: try current.replacingLive(with: canary.spec).encoded()
            ))
        try await announce(
            .promoted, name, from: current.version, to: canary.spec.version, percent: canary.percent,
            evidence ?? DeployEvidence(reason: "sluice promote"))
        return (current.stable, canary.spec)
    }

    /// The current version of `name` and its canary (the one `evidence` is about, when given).
    private func baking(_ name: String, evidence: DeployEvidence?, doing action: String) throws -> (
        FunctionSpec, CanaryRoute
    ) {
        guard let current = registry.function(named: name) else {
            throw DeployRefusal(message: "function \(name) is not deployed")
        }
        guard let canary = current.canary,
            evidence?.canary.map({ $0.version == canary.spec.version }) ?? true
        else {
            throw DeployRefusal(message: "\(name) has no canary to \(action) (version \(current.version) is current)")
        }
        return (current, canary)
    }

    /// The deployed versions of `name`.
    public func versions(of name: String) async throws -> FunctionVersions {
        try await FunctionVersions.load(name: name, connection: shelf.connection, topic: versionsTopic)
    }

    /// Makes an earlier version current again: `to`, or the highest version below the current one (while
    /// a canary bakes: the stable version, without the canary). The
    /// version is republished as it was deployed and signed, so workers take it like any other
    /// (its artifacts are usually still in their caches).
    /// - Returns: the version that was current, and the one that is now.
    /// - Throws: `DeployRefusal` naming what is wrong (not deployed, no such version, nothing earlier…).
    /// `evidence`: why (default: an operator's `sluice rollback`); with it only a canary is rolled back.
    public func rollback(name: String, to number: Int? = nil, evidence: DeployEvidence? = nil) async throws -> (
        from: FunctionSpec, to: FunctionSpec
    ) {
        guard let current = registry.function(named: name) else {
            throw DeployRefusal(message: "function \(name) is not deployed")
        }
        if number == nil, current.canary != nil || evidence != nil {
            // A canary is rolled back by taking it out: the stable version keeps all invocations.
            let (current, canary) = try baking(name, evidence: evidence, doing: "roll back")
            _ = try await producer.send(
                ProducerRecord(
                    topic: registry.topic, key: Array(name.utf8),
                    value: try current.replacingLive(with: current.stable).encoded()))
            try await announce(
                .rolledBack, name, from: canary.spec.version, to: current.version, percent: canary.percent,
                evidence ?? DeployEvidence(reason: "sluice rollback"))
            return (canary.spec, current.stable)
        }
        let versions = try await versions(of: name)
        let target: FunctionSpec
        if let number {
            guard let found = versions.version(number) else {
                let known = versions.all.map { String($0.version) }.joined(separator: ", ")
                throw DeployRefusal(
                    message: "\(name) has no version \(number) (versions: \(known.isEmpty ? "none" : known))")
            }
            target = found
        } else {
            guard let earlier = versions.all.last(where: { $0.version < current.version }) else {
                throw DeployRefusal(message: "\(name) has no version before \(current.version) to roll back to")
            }
            target = earlier
        }
        guard target.version != current.version else {
            throw DeployRefusal(message: "\(name) is already at version \(target.version)")
        }
        if let problem = registry.admission.problem(with: target, key: name, current: current) {
            throw DeployRefusal(message: "\(name) cannot go back to version \(target.version): \(problem)")
        }
        _ = try await producer.send(
            ProducerRecord(
                topic: registry.topic, key: Array(name.utf8), value: try current.replacingLive(with: target).encoded()))
        try await announce(
            .rolledBack, name, from: current.version, to: target.version, percent: nil,
            DeployEvidence(reason: "sluice rollback" + (number.map { " --to \($0)" } ?? "")))
        return (current, target)
    }

    /// The current version's reference when it is the same artifact, else the artifact published.
    private func reuse(_ current: ArtifactReference?, _ artifact: Artifact) async throws -> ArtifactReference {
        if let current, current.digest == artifact.digest, current.bytes == artifact.bytes.count { return current }
        return try await shelf.publish(artifact, producer: producer)
    }

    /// Writes a tombstone: the function is gone for every component.
    public func delete(name: String) async throws {
        _ = try await producer.send(ProducerRecord(topic: registry.topic, key: Array(name.utf8), value: nil))
    }
}

extension FunctionDeployer {
    /// Runs `body` with a deployer on the current registry; its clients are closed when it returns.
    /// `signingKey`: nil for a deployer that only deletes.
    public static func with<T: Sendable>(
        connection: KafkaConnection, topics: PlatformTopics = .standard, signingKey: SigningKey? = nil,
        admission: SpecAdmission = SpecAdmission(), _ body: (FunctionDeployer) async throws -> T
    ) async throws -> T {
        let producer = try KafkaProducer.make(.shortLived(connection: connection))
        return try await closing(close: producer.close) {
            let registry = try await FunctionRegistry.load(
                connection: connection, topic: topics.functions, admission: admission)
            return try await closing(close: registry.close) {
                try await body(
                    FunctionDeployer(
                        producer: producer, registry: registry, signingKey: signingKey,
                        shelf: ArtifactShelf(connection: connection, topic: topics.artifacts),
                        versionsTopic: topics.versions, deploymentsTopic: topics.deployments))
            }
        }
    }
}

/// A deploy the registry would refuse (another tenant's name, limits the platform does not allow…).
public struct DeployRefusal: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(message: String) { self.message = message }
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
