import Foundation
import Histogram
import SluiceKafka
import SluiceRecords

/// Follows `sluice.results` for one function; `collect` returns the end-to-end latencies (µs) of the
/// next `count` results, from the send time carried in the echoed event.
final class ResultReader: Sendable {
    private let consumer: KafkaConsumer
    private let function: [UInt8]

    private init(consumer: KafkaConsumer, function: String) {
        self.consumer = consumer
        self.function = Array(function.utf8)
    }

    static func start(connection: KafkaConnection, function: String) async throws -> ResultReader {
        let marks = try await KafkaAdmin.highWatermarks(
            topics: [PlatformTopics.standard.results], connection: connection)
        var configuration = ConsumerConfiguration(connection: connection)
        configuration.bufferCapacity = 100_000
        let consumer = try KafkaConsumer.make(configuration)
        try await consumer.assign(marks.map { TopicPartitionOffset($0.key, offset: $0.value) })
        return ResultReader(consumer: consumer, function: function)
    }

    /// The stages of the end-to-end latency, from the times a result carries (`stages`).
    static let stageNames = [
        "publish → routed", "routed → taken", "taken → started", "started → ended", "ended → result read",
    ]

    /// End-to-end latencies (µs) of the next `count` results, and per stage (`stageNames`).
    /// `spans`: per point (sent, enqueued, taken, started, ended, received), its earliest and latest time
    /// (µs): `count` over a point's span is the rate that stage kept up.
    func collect(_ count: Int, timeout: Duration) async throws -> (
        total: Histogram<UInt64>, stages: [Histogram<UInt64>], spans: [ClosedRange<Double>]
    ) {
        let now = ContinuousClock.now
        var histogram = Histogram<UInt64>(highestTrackableValue: 600_000_000)
        var stages = Self.stageNames.map { _ in Histogram<UInt64>(highestTrackableValue: 600_000_000) }
        var spans: [ClosedRange<Double>?] = Array(repeating: nil, count: Self.stageNames.count + 1)
        var seen = 0
        var iterator = consumer.events.makeAsyncIterator()
        while seen < count {
            guard ContinuousClock.now - now < timeout else {
                throw KafkaError(.timedOut, "only \(seen) of \(count) results arrived within \(timeout)")
            }
            guard let event = await iterator.next() else { break }
            guard case .record(let record) = event, record.header(SluiceHeader.function) == function else { continue }
            let received = PipelineBenchmark.nowMicros
            if let value = record.value, let sent = Self.outputTimestamp(value) {
                _ = histogram.record(UInt64(max(0, received - sent)))
                if let marks = Self.stageMarks(value) {
                    let points = [
                        Double(sent), marks.enqueued, marks.taken, marks.started, marks.ended, Double(received),
                    ]
                    for index in stages.indices {
                        _ = stages[index].record(UInt64(max(0, points[index + 1] - points[index])))
                    }
                    for (index, point) in points.enumerated() {
                        spans[index] =
                            spans[index].map { min($0.lowerBound, point)...max($0.upperBound, point) }
                            ?? point...point
                    }
                }
            }
            seen += 1
        }
        return (histogram, stages, spans.map { $0 ?? 0...0 })
    }

    /// The result's `stages` in µs since the epoch. Read with a scan, not a JSON parser: the reader runs
    /// in the measured process, and parsing every result cost it about a tenth of its CPU.
    static func stageMarks(_ value: [UInt8]) -> (enqueued: Double, taken: Double, started: Double, ended: Double)? {
        guard let stages = position(of: "\"stages\":{", in: value, from: 0),
            let enqueued = number(named: "enqueued_ms", in: value, from: stages),
            let taken = number(named: "taken_ms", in: value, from: stages),
            let started = number(named: "started_ms", in: value, from: stages),
            let ended = number(named: "ended_ms", in: value, from: stages)
        else { return nil }
        return (enqueued * 1000, taken * 1000, started * 1000, ended * 1000)
    }

    /// The number after `"name":` at or after `from`.
    private static func number(named name: String, in value: [UInt8], from: Int) -> Double? {
        guard let start = position(of: "\"\(name)\":", in: value, from: from) else { return nil }
        let text = value[start...].prefix { $0 != UInt8(ascii: ",") && $0 != UInt8(ascii: "}") }
        return Double(String(decoding: text, as: UTF8.self))
    }

    /// Where the bytes after the first `needle` at or after `from` start.
    private static func position(of needle: String, in value: [UInt8], from: Int) -> Int? {
        let needle = Array(needle.utf8)
        guard value.count - from >= needle.count else { return nil }
        return (from...(value.count - needle.count)).first {
            value[$0..<($0 + needle.count)].elementsEqual(needle)
        }.map { $0 + needle.count }
    }

    /// The values of the next `count` results.
    func collectValues(_ count: Int, timeout: Duration) async throws -> [[UInt8]] {
        let now = ContinuousClock.now
        var values: [[UInt8]] = []
        var iterator = consumer.events.makeAsyncIterator()
        while values.count < count {
            guard ContinuousClock.now - now < timeout else {
                throw KafkaError(.timedOut, "only \(values.count) of \(count) results arrived within \(timeout)")
            }
            guard let event = await iterator.next() else { break }
            guard case .record(let record) = event, record.header(SluiceHeader.function) == function else { continue }
            values.append(record.value ?? [])
        }
        return values
    }

    func close() async { await consumer.close() }

    /// The `t` the no-op echoed back in its output (`"output":{"t":…,"pad":…}`).
    static func outputTimestamp(_ value: [UInt8]) -> Int64? {
        guard let start = position(of: "\"t\":", in: value, from: 0) else { return nil }
        let digits = value[start...].prefix { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        return Int64(String(decoding: digits, as: UTF8.self))
    }
}
