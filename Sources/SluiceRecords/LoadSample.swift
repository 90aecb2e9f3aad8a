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
    /// sample too large to be one. Anyone can write the topic: every number is clamped into range, so
    /// sums of them cannot overflow (a worker's own momentary -1 reads as 0).
    public static func decode(_ value: [UInt8]) -> LoadSample? {
        guard value.count <= 4 << 20,
            var sample = try? JSONDecoder().decode(LoadSample.self, from: Data(value)), sample.type == "load_sample",
            sample.functions.count <= 10_000, sample.partitions.count <= 100_000, sample.warmProcesses.count <= 10_000
        else { return nil }
        sample.clampNumbers()
        return sample
    }

    /// Counts into `RecordBounds.count`, durations and the interval finite and bounded, lags into
    /// 0 … 10^15.
    mutating func clampNumbers() {
        func count(_ value: Int) -> Int {
            min(max(value, RecordBounds.count.lowerBound), RecordBounds.count.upperBound)
        }
        func real(_ value: Double, _ upper: Double) -> Double { value.isFinite ? min(max(value, 0), upper) : 0 }
        inFlight = count(inFlight)
        queued = count(queued)
        intervalSeconds = real(intervalSeconds, 3600)
        warmProcesses = warmProcesses.mapValues(count)
        functions = functions.mapValues { load in
            var load = load
            load.inFlight = count(load.inFlight)
            load.invocations = count(load.invocations)
            load.warmProcesses = count(load.warmProcesses)
            load.durationMsSum = real(load.durationMsSum, 1e12)
            return load
        }
        partitions = partitions.map { partition in
            var partition = partition
            partition.partition = max(0, partition.partition)
            partition.lag = min(max(partition.lag, 0), 1_000_000_000_000_000)
            return partition
        }
    }

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(self)).map { Array($0) } ?? []
    }
}
