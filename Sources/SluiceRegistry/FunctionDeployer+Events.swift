import SluiceFunctions
import SluiceKafka
import SluiceRecords

/// Why a canary is promoted or rolled back: an operator's command, or the canary judge's figures.
public struct DeployEvidence: Sendable {
    public var reason: String
    public var decidedBy: String
    public var canary: DeployEvent.Figures?
    public var stable: DeployEvent.Figures?

    public init(
        reason: String, decidedBy: String = "operator", canary: DeployEvent.Figures? = nil,
        stable: DeployEvent.Figures? = nil
    ) {
        self.reason = reason
        self.decidedBy = decidedBy
        self.canary = canary
        self.stable = stable
    }
}

extension FunctionDeployer {
    /// Publishes `event` on the deployments topic.
    func announce(_ event: DeployEvent) async throws {
        _ = try await producer.send(
            ProducerRecord(
                topic: deploymentsTopic, key: Array(event.function.utf8), value: event.encoded(),
                headers: [KafkaHeader(name: SluiceHeader.function, string: event.function)]))
    }

    func announce(
        _ kind: DeployEvent.Kind, _ name: String, from: Int, to: Int, percent: Int?, _ evidence: DeployEvidence
    ) async throws {
        var event = DeployEvent(
            function: name, eventType: kind, fromVersion: from, toVersion: to, reason: evidence.reason,
            decidedBy: evidence.decidedBy)
        event.canaryPercent = percent
        event.canary = evidence.canary
        event.stable = evidence.stable
        try await announce(event)
    }
}
