import Foundation

/// The seed's Scaling Event: one autoscaler decision, kept on `sluice.scaling` for audit.
public struct ScalingEvent: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable {
        case scaleUp = "scale_up"
        case scaleDown = "scale_down"
        case scaleToZero = "scale_to_zero"
    }
    public var eventID: String
    public var functionID: String
    public var eventType: Kind
    public var reason: String
    public var instancesBefore: Int
    public var instancesAfter: Int
    public var timestamp: String
    public var autoscalerVersion: String
    /// Warm processes to keep per worker (the burst reserve included).
    public var warmProcesses: Int
    /// For a function's event: invocations of it each worker runs at once (never above its
    /// `max_concurrency`); nil: up to `max_concurrency`.
    public var concurrency: Int? = nil
    /// The consumer group of the workers a function's decision is for (a function can run in several
    /// pools); set by whoever publishes it.
    public var workerGroup: String? = nil

    public init(
        eventID: String, functionID: String, eventType: Kind, reason: String, instancesBefore: Int, instancesAfter: Int,
        timestamp: String,
        autoscalerVersion: String, warmProcesses: Int, concurrency: Int? = nil, workerGroup: String? = nil
    ) {
        self.eventID = eventID
        self.functionID = functionID
        self.eventType = eventType
        self.reason = reason
        self.instancesBefore = instancesBefore
        self.instancesAfter = instancesAfter
        self.timestamp = timestamp
        self.autoscalerVersion = autoscalerVersion
        self.warmProcesses = warmProcesses
        self.concurrency = concurrency
        self.workerGroup = workerGroup
    }

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id"
        case functionID = "function_id"
        case eventType = "event_type"
        case reason
        case instancesBefore = "instances_before"
        case instancesAfter = "instances_after"
        case timestamp
        case autoscalerVersion = "autoscaler_version"
        case warmProcesses = "warm_processes"
        case concurrency
        case workerGroup = "worker_group"
    }
}
