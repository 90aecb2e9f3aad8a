import Foundation
import SluiceKafka
import SluiceRecords

/// The retry tier topics (`Topics/retry.yaml`): `<prefix><delay>`, e.g. `sluice.retry.10s`. A failed
/// invocation waits in the tier with the largest delay not above its next backoff (the shortest tier
/// when the backoff is below all), so long waits never sit in front of short ones.
public struct RetryTiers: Sendable, Hashable {
    public struct Tier: Sendable, Hashable {
        public var topic: String
        public var delayMs: Int
    }

    /// Sorted by delay.
    public let tiers: [Tier]

    public init(_ tiers: [Tier]) {
        self.tiers = tiers.sorted { $0.delayMs < $1.delayMs }
    }

    public var topics: [String] { tiers.map(\.topic) }

    /// The tier for a record whose next attempt is `delayMs` away.
    public func tier(forDelayMs delayMs: Int) -> Tier {
        tiers.last { $0.delayMs <= delayMs } ?? tiers[0]
    }

    /// The tiers among `topics` named `prefix` + a delay (`500ms`, `1s`, `10m`, `1h`).
    /// - Throws: when none exists, naming the prefix (run `sluice topics apply`).
    public static func discover(prefix: String, topics: [String]) throws -> RetryTiers {
        let tiers = topics.filter { $0.hasPrefix(prefix) }.compactMap { topic in
            delayMs(String(topic.dropFirst(prefix.count))).map { Tier(topic: topic, delayMs: $0) }
        }
        guard !tiers.isEmpty else {
            throw KafkaError(
                .unknownTopic,
                "no retry tier topics named \(prefix)<delay> (e.g. \(prefix)1s) exist; run `sluice topics apply`")
        }
        return RetryTiers(tiers)
    }

    /// Lists the broker's topics and discovers the tiers among them.
    public static func discover(prefix: String = PlatformTopics.standard.retryPrefix, connection: KafkaConnection)
        async throws -> RetryTiers
    {
        let topics = try await KafkaAdmin.with(connection) { try await $0.topics().map(\.name) }
        return try discover(prefix: prefix, topics: topics)
    }

    /// `500ms`, `1s`, `10m`, `1h` in milliseconds.
    static func delayMs(_ text: String) -> Int? {
        for (suffix, factor) in [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)] where text.hasSuffix(suffix) {
            guard let number = Int(text.dropLast(suffix.count)), number > 0 else { return nil }
            return number * factor
        }
        return nil
    }
}
