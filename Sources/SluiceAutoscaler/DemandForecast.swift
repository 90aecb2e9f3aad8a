/// A function's demand learned from its invocation history, in terms a person can check (docs/architecture.md,
/// "Predictive pre-warming"):
/// - invocations are counted per **bucket** (a minute by default);
/// - the **seasonal profile** holds, per phase of the **period** (a day by default), an EWMA of the counts
///   of that bucket in earlier periods: "at 9:00 this function sees about 300 invocations";
/// - the **level** and **trend** are EWMAs (Holt's) of the recent buckets.
///
/// The forecast of a bucket is its phase's seasonal value once a whole period has been seen, else the level
/// plus the trend. Times are seconds since the epoch (record timestamps), so history replays the same way.
public struct DemandForecast: Sendable {
    public struct Settings: Sendable, Hashable {
        public var bucketSeconds = 60.0
        public var periodSeconds = 86_400.0
        /// How many buckets ahead decisions look (the current one included).
        public var leadBuckets = 2
        /// Weight of the newest period in the seasonal profile, and of the newest bucket in the level.
        public var seasonalWeight = 0.5
        public var levelWeight = 0.3

        public init() {}

        /// Buckets per period (at most a week of minutes: 10,080).
        public var phases: Int { min(10_080, max(1, Int((periodSeconds / max(bucketSeconds, 0.001)).rounded()))) }
    }

    public let settings: Settings
    /// The open bucket (nil before the first record) and its count so far.
    public private(set) var bucket: Int?
    public private(set) var count = 0
    public private(set) var level = 0.0
    public private(set) var trend = 0.0
    /// Buckets closed so far.
    public private(set) var history = 0
    /// Records older than the open bucket, not counted.
    public private(set) var late = 0
    private var season: [Int: Double] = [:]

    public init(settings: Settings = Settings()) { self.settings = settings }

    /// Whether a whole period has been seen (forecasts then come from the seasonal profile).
    public var seasonal: Bool { history >= settings.phases }

    public func bucket(at time: Double) -> Int { Int((time / settings.bucketSeconds).rounded(.down)) }

    private func phase(_ bucket: Int) -> Int {
        let phases = settings.phases
        return ((bucket % phases) + phases) % phases
    }

    /// Counts `invocations` at `time`. A record of an earlier bucket than the open one is not counted.
    public mutating func record(_ invocations: Int = 1, at time: Double) {
        let index = bucket(at: time)
        guard let open = bucket else {
            bucket = index
            count = invocations
            return
        }
        guard index >= open else {
            late += 1
            return
        }
        advance(to: index)
        count += invocations
    }

    /// Closes the buckets before `index` (empty ones count 0). Of a gap longer than a period only its last
    /// period is closed: bounded work whatever a timestamp says, each phase taking one empty bucket.
    public mutating func advance(to index: Int) {
        guard let open = bucket, index > open else { return }
        close(open, Double(count))
        count = 0
        var next = max(open + 1, index - settings.phases)
        while next < index {
            close(next, 0)
            next += 1
        }
        bucket = index
    }

    private mutating func close(_ index: Int, _ value: Double) {
        let weight = settings.levelWeight
        let previous = level
        level = history == 0 ? value : weight * value + (1 - weight) * (level + trend)
        trend = history == 0 ? 0 : weight * (level - previous) + (1 - weight) * trend
        let key = phase(index)
        season[key] = season[key].map { settings.seasonalWeight * value + (1 - settings.seasonalWeight) * $0 } ?? value
        history += 1
    }

    /// Invocations expected in bucket `index` (never negative).
    public func forecast(bucket index: Int) -> Double {
        if seasonal, let value = season[phase(index)] { return value }
        let ahead = Double(index - (bucket ?? index))
        return max(0, level + trend * ahead)
    }

    /// The highest expected rate (invocations per second) over the lead buckets from `time`. A bucket
    /// expected to see less than one invocation counts as none: an EWMA only approaches zero, and its tail
    /// must not keep processes warm forever.
    public func peakRate(at time: Double) -> Double {
        let now = bucket(at: time)
        let peak = (0..<max(1, settings.leadBuckets)).map { forecast(bucket: now + $0) }.max() ?? 0
        return peak < 1 ? 0 : peak / settings.bucketSeconds
    }

    /// The seasonal profile, phase by phase (empty before the first closed bucket): for a dashboard panel.
    public var profile: [Double] { (0..<settings.phases).map { season[$0] ?? 0 } }
}
