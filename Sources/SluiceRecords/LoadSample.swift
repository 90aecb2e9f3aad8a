import Foundation

/// What a worker publishes on `sluice.scaling` every second (key: the worker id): its load, per function
/// and per assigned partition. The autoscaler, the lag engine (partition owners) and the dashboard read it.
public struct LoadSample: Sendable, Hashable, Codable {
    public struct FunctionLoad: Sendable, Hashable, Codable {
        /// Invocations running now.
        public var inFlight: Int
        /// Invocations that ended during the interval, and their summed duration.
        public var invocations: Int
        public var durationMsSum: Double
        /// Warm processes (idle and busy).
        public var warmProcesses: Int

        public init(inFlight: Int = 0, invocations: Int = 0, durationMsSum: Double = 0, warmProcesses: Int = 0) {
            self.inFlight = inFlight
            self.invocations = invocations
            self.durationMsSum = durationMsSum
            self.warmProcesses = warmProcesses
        }

        enum CodingKeys: String, CodingKey {
            case inFlight = "in_flight"
            case invocations
            case durationMsSum = "duration_ms_sum"
            case warmProcesses = "warm_processes"
        }
    }

    public struct Partition: Sendable, Hashable, Codable {
        public var topic: String
        public var partition: Int32
        /// Records not finished yet: the partition's end minus the next offset to commit.
        public var lag: Int64
        /// A record of this partition is in retry and later records of its key (or of the partition) wait
        /// for it: lag that more workers cannot drain.
        public var heldByRetry: Bool

        public init(topic: String, partition: Int32, lag: Int64, heldByRetry: Bool) {
            self.topic = topic
            self.partition = partition
            self.lag = lag
            self.heldByRetry = heldByRetry
        }

        enum CodingKeys: String, CodingKey {
            case topic, partition, lag
            case heldByRetry = "held_by_retry"
        }
    }

    public var type = "load_sample"
    public var workerID: String
    public var group: String
    public var timestamp: String
    public var intervalSeconds: Double
    public var inFlight: Int
    /// Records taken from Kafka that have not started (waiting for a slot or behind their key).
    public var queued: Int
    /// Warm processes per function (also in `functions`; kept flat for simple readers).
    public var warmProcesses: [String: Int]
    public var functions: [String: FunctionLoad]
    public var partitions: [Partition]

    public init(
        workerID: String, group: String, timestamp: String, intervalSeconds: Double, inFlight: Int, queued: Int,
        functions: [String: FunctionLoad], partitions: [Partition]
    ) {
        self.workerID = workerID
        self.group = group
        self.timestamp = timestamp
        self.intervalSeconds = intervalSeconds
        self.inFlight = inFlight
        self.queued = queued
        self.warmProcesses = functions.mapValues(\.warmProcesses)
        self.functions = functions
        self.partitions = partitions
    }

    enum CodingKeys: String, CodingKey {
        case type
        case workerID = "worker_id"
        case group, timestamp
        case intervalSeconds = "interval_seconds"
        case inFlight = "in_flight"
        case queued
        case warmProcesses = "warm_processes"
        case functions, partitions
    }

    /// The sample in a record value, or nil for anything else on the topic (Scaling Events) and for a
    /// sample whose numbers are out of range (anyone can write the topic; sums of them must not overflow).
    public static func decode(_ value: [UInt8]) -> LoadSample? {
        guard value.count <= 4 << 20,
            let sample = try? JSONDecoder().decode(LoadSample.self, from: Data(value)), sample.type == "load_sample",
            sample.isPlausible
        else { return nil }
        return sample
    }

    /// Every count within `RecordBounds.count`, durations and lags finite and bounded, at most 10,000
    /// functions and 100,000 partitions.
    var isPlausible: Bool {
        let counts = RecordBounds.count
        let lag: ClosedRange<Int64> = 0...1_000_000_000_000_000
        return counts.contains(inFlight) && counts.contains(queued) && functions.count <= 10_000
            && partitions.count <= 100_000 && intervalSeconds.isFinite && (0...3600).contains(intervalSeconds)
            && warmProcesses.values.allSatisfy(counts.contains)
            && functions.values.allSatisfy {
                counts.contains($0.inFlight) && counts.contains($0.invocations) && counts.contains($0.warmProcesses)
                    && $0.durationMsSum.isFinite && (0...1e12).contains($0.durationMsSum)
            }
            && partitions.allSatisfy { $0.partition >= 0 && lag.contains($0.lag) }
    }

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(self)).map { Array($0) } ?? []
    }
}
