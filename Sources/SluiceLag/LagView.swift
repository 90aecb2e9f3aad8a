import Foundation
import SluiceKafka
import SluiceRecords

/// What `sluice lag` shows, from open to close: the lag engine (owners from the workers' load samples)
/// and, when asked, dead letters per function counted from the dead-letter topic.
public struct LagView: Sendable {
    private let engine: LagEngine
    private let roster: WorkerRoster
    private let deadLetters: DeadLetterFollower
    /// The dead-letter topic's ends when the view opened (nil: dead letters are not shown).
    private let deadLetterEnds: [TopicPartition: Int64]?

    /// - Parameters:
    ///   - groups: only these groups (nil: all).
    ///   - deadLetterTopic: count dead letters per function on it (nil: do not).
    public static func open(connection: KafkaConnection, groups: Set<String>?, deadLetterTopic: String?) async throws
        -> LagView
    {
        var options = LagEngine.Options()
        options.groups = groups
        // Owners come from the workers' load samples (the broker does not report assignments).
        let roster = WorkerRoster()
        if (try? await roster.start(connection: connection)) != nil { options.roster = roster }
        let engine = try LagEngine(connection: connection, options: options)
        let deadLetters = DeadLetterFollower()
        var ends: [TopicPartition: Int64]?
        if let deadLetterTopic, (try? await deadLetters.start(connection: connection, topic: deadLetterTopic)) != nil {
            ends = try? await KafkaAdmin.highWatermarks(topics: [deadLetterTopic], connection: connection)
        }
        return LagView(engine: engine, roster: roster, deadLetters: deadLetters, deadLetterEnds: ends)
    }

    /// One lag sample of every group (rates compare it with the previous one).
    public func sample() async throws -> [GroupLag] { try await engine.sample() }

    /// Dead letters per function, counted up to those present when the view opened (10 s at most;
    /// a partial count otherwise); nil when not asked for.
    public func deadLetterDepth() async -> DeadLetterDepth? {
        guard let deadLetterEnds else { return nil }
        _ = await deadLetters.waitUntilRead(upTo: deadLetterEnds, timeout: .seconds(10))
        return await deadLetters.depth
    }

    public func close() async {
        await engine.close()
        await roster.close()
        await deadLetters.close()
    }
}
