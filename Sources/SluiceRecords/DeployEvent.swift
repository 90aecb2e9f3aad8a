import Foundation

/// One change of what a function runs, kept on `sluice.deployments` (key = function name): a deploy, a
/// canary started, promoted or rolled back (by an operator or by the canary judge, with the figures that
/// decided), a rollback to an earlier version.
public struct DeployEvent: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case deployed
        case canaryStarted = "canary_started"
        case promoted
        case rolledBack = "rolled_back"
        case aliasSet = "alias_set"
        case aliasRemoved = "alias_removed"

        /// Whether the event changes what `live` runs (alias events do not).
        public var changesLive: Bool { self != .aliasSet && self != .aliasRemoved }
    }

    /// One version's invocations in the window the judge compared.
    public struct Figures: Sendable, Hashable, Codable {
        public var version: Int
        public var invocations: Int
        public var errors: Int
        /// p99 of warm invocations' durations (nil: none seen).
        public var p99Ms: Double?

        public var errorRate: Double { invocations == 0 ? 0 : Double(errors) / Double(invocations) }

        public init(version: Int, invocations: Int = 0, errors: Int = 0, p99Ms: Double? = nil) {
            self.version = version
            self.invocations = invocations
            self.errors = errors
            self.p99Ms = p99Ms
        }

        enum CodingKeys: String, CodingKey {
            case version, invocations, errors
            case p99Ms = "p99_ms"
        }
    }

    public var eventID: String
    public var function: String
    public var eventType: Kind
    /// The version that took new invocations before, and the one after (for `canary_started`: the
    /// stable version and the canary).
    public var fromVersion: Int?
    public var toVersion: Int
    public var canaryPercent: Int?
    /// The alias of `alias_set` and `alias_removed` (its version: `to_version`, `from_version`).
    public var alias: String?
    public var reason: String
    /// `operator` (a `sluice` command) or `canary-judge`.
    public var decidedBy: String
    public var canary: Figures?
    public var stable: Figures?
    public var timestamp: String

    public init(
        function: String, eventType: Kind, fromVersion: Int?, toVersion: Int, reason: String,
        decidedBy: String = "operator", at date: Date = Date()
    ) {
        self.eventID = "deploy_\(function)_\(UUID().uuidString.prefix(8).lowercased())"
        self.function = function
        self.eventType = eventType
        self.fromVersion = fromVersion
        self.toVersion = toVersion
        self.reason = reason
        self.decidedBy = decidedBy
        self.timestamp = Timestamp.rfc3339(date)
    }

    /// The event read from a record of `sluice.deployments`, or nil for anything else (every record is
    /// untrusted: at most 64 KiB, versions in range, text bounded).
    public static func decode(_ bytes: [UInt8]?) -> DeployEvent? {
        guard let bytes, bytes.count <= 64 << 10,
            let event = try? JSONDecoder().decode(DeployEvent.self, from: Data(bytes)),
            (1...1_000_000_000).contains(event.toVersion),
            (0...1_000_000_000).contains(event.fromVersion ?? 0), (0...100).contains(event.canaryPercent ?? 0),
            event.function.utf8.count <= 63, event.alias.map(RecordBounds.isValidAlias) ?? true,
            event.reason.utf8.count <= 1024, event.decidedBy.utf8.count <= 64,
            event.eventID.utf8.count <= 128, event.timestamp.utf8.count <= 64,
            [event.canary, event.stable].allSatisfy({ $0.map(\.isPlausible) ?? true })
        else { return nil }
        return event
    }

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array((try? encoder.encode(self)) ?? Data())
    }

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id"
        case function
        case eventType = "event_type"
        case fromVersion = "from_version"
        case toVersion = "to_version"
        case canaryPercent = "canary_percent"
        case alias
        case reason
        case decidedBy = "decided_by"
        case canary, stable, timestamp
    }
}

extension DeployEvent.Figures {
    var isPlausible: Bool {
        (0...1_000_000_000).contains(version) && invocations >= 0 && (0...invocations).contains(errors)
            && (p99Ms.map { $0.isFinite && $0 >= 0 } ?? true)
    }
}
