import Foundation

/// A new version that takes a share of new invocations while it bakes (`sluice deploy --canary N`),
/// beside the registry record's stable version. Which version an invocation gets is decided by its id
/// alone, so its retries and replays stay on one version, on every worker.
public struct CanaryRoute: Sendable, Hashable, Codable {
    /// Percent of invocation ids that go to the canary (1…99).
    public var percent: Int
    /// When the canary started, as `created_at` is written.
    public var startedAt: String
    /// The canary version (boxed: a struct cannot hold a value of its own type).
    private var boxed: [FunctionSpec]

    public var spec: FunctionSpec { boxed[0] }

    public init(spec: FunctionSpec, percent: Int, startedAt: Date = Date()) {
        self.percent = percent
        self.startedAt = startedAt.formatted(.iso8601)
        self.boxed = [spec]
    }

    enum CodingKeys: String, CodingKey {
        case percent
        case startedAt = "started_at"
        case spec
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        percent = try container.decode(Int.self, forKey: .percent)
        startedAt = try container.decode(String.self, forKey: .startedAt)
        boxed = [try container.decode(FunctionSpec.self, forKey: .spec)]
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(percent, forKey: .percent)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(boxed[0], forKey: .spec)
    }

    /// Whether invocation `id` goes to the canary: FNV-1a of the id, modulo 100, below `percent` (the
    /// same on every worker and in every run, unlike Swift's seeded `Hasher`).
    public func takes(_ invocationID: String) -> Bool {
        Self.bucket(invocationID) < percent
    }

    /// 0…99 for an invocation id.
    public static func bucket(_ invocationID: String) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in invocationID.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int(hash % 100)
    }
}

extension FunctionSpec {
    /// The version invocation `id` runs: the canary's when it takes the id, else this one (without
    /// its canary).
    public func routed(_ invocationID: String) -> FunctionSpec {
        if let canary, canary.takes(invocationID) { return canary.spec }
        return stable
    }

    /// The version invocation `id` of `alias` runs (nil: `live`, as `routed(_:)`); nil for an alias the
    /// function does not have.
    public func routed(_ invocationID: String, alias: String?) -> FunctionSpec? {
        guard let alias, alias != Self.liveAlias else { return routed(invocationID) }
        return aliases?[alias]
    }

    /// The alias an invocation without one runs: this record's version (and its canary).
    public static let liveAlias = "live"

    /// This version without its canary and aliases.
    public var stable: FunctionSpec {
        guard canary != nil || aliases != nil else { return self }
        var stable = self
        stable.canary = nil
        stable.aliases = nil
        return stable
    }

    /// The versions that may run now: this one, its canary and the versions of its aliases.
    public var running: [FunctionSpec] {
        var versions = [stable] + (canary.map { [$0.spec] } ?? [])
        for spec in (aliases ?? [:]).values.sorted(by: { $0.version < $1.version })
        where !versions.contains(where: { $0.version == spec.version }) {
            versions.append(spec)
        }
        return versions
    }

    /// This record with another version live (a promotion or rollback): the aliases stay.
    public func replacingLive(with spec: FunctionSpec) -> FunctionSpec {
        var record = spec
        record.canary = nil
        record.aliases = aliases
        return record
    }
}
