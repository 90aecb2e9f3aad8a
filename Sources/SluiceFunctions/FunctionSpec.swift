import Foundation
import SluiceRecords

/// A deployed function version: the record value on `sluice.functions` (key = name).
public struct FunctionSpec: Sendable, Hashable, Codable {
    public var functionID: String
    public var version: Int
    public var codeHash: String
    public var createdAt: String
    public var manifest: FunctionManifest
    /// The code, packed (nil: a version deployed before artifacts, which no worker runs).
    public var artifact: ArtifactReference?
    /// The manifest's `dependencies` folder, packed: mounted read-only at `/deps`.
    public var dependencies: ArtifactReference?
    public var signature: DeploySignature?
    /// A version baking beside this one, with its share of invocations (not covered by the signature:
    /// it holds a signed version of its own).
    public var canary: CanaryRoute?
    /// Named aliases beside `live` (this record's version and its canary): each points at a version as
    /// it was deployed and signed (`sluice alias set`); invocations name one with `sluice-alias`.
    public var aliases: [String: FunctionSpec]?

    enum CodingKeys: String, CodingKey {
        case functionID = "function_id"
        case version
        case codeHash = "code_hash"
        case createdAt = "created_at"
        case manifest, artifact, dependencies, signature, canary, aliases
    }

    public init(manifest: FunctionManifest, version: Int, codeHash: String, createdAt: Date = Date()) {
        self.functionID = "fn_\(manifest.name)"
        self.version = version
        self.codeHash = codeHash
        self.createdAt = createdAt.formatted(.iso8601)
        self.manifest = manifest
    }

    public var name: String { manifest.name }

    /// The record value.
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self))
    }

    public static func decode(_ bytes: [UInt8]) throws -> FunctionSpec {
        try JSONDecoder().decode(FunctionSpec.self, from: Data(bytes))
    }

    /// Whether `other` is the same manifest, code and dependencies (a deploy of it would change nothing).
    public func sameDeployment(as other: FunctionSpec) -> Bool {
        manifest == other.manifest && codeHash == other.codeHash
            && dependencies?.digest == other.dependencies?.digest && canary == nil && other.canary == nil
            && (aliases ?? [:]).isEmpty && (other.aliases ?? [:]).isEmpty
    }
}
