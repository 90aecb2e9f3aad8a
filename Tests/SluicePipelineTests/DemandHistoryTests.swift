import Foundation
import SluiceAutoscaler
import SluiceRecords
import Testing

@testable import SluiceScaling

@Suite("The supervisor's demand history takes invocation-log records as untrusted input (pure logic)")
struct DemandHistoryTests {
    func record(_ function: String?, at time: Double) -> ConsumerRecord {
        ConsumerRecord(
            topic: "sluice.invocation-log", partition: 0, offset: 0, timestampMs: Int64(time * 1000), key: nil,
            value: nil, headers: function.map { [KafkaHeader(name: SluiceHeader.function, string: $0)] } ?? [])
    }

    @Test("A seasonal burst is predicted; records from the future, from long ago or without a function are not counted")
    func rangeChecked() {
        var settings = DemandForecast.Settings()
        settings.bucketSeconds = 1
        settings.periodSeconds = 10
        settings.leadBuckets = 2
        let history = DemandHistory(settings: settings)
        let start = (Date().timeIntervalSince1970 / 10).rounded(.down) * 10 - 30
        // Three periods ago up to now: 20 invocations in phase 5 of each period.
        for period in 0..<3 {
            for _ in 0..<20 { history.record(record("fn", at: start + Double(period) * 10 + 5.5)) }
        }
        // Hostile: a year ahead, a year ago, no header, a name of 300 bytes.
        history.record(record("fn", at: start + 365 * 86_400))
        history.record(record("fn", at: start - 365 * 86_400))
        history.record(record(nil, at: start + 1))
        history.record(record(String(repeating: "x", count: 300), at: start + 1))
        let atPhase4 = Date(timeIntervalSince1970: start + 34.2)
        let rates = history.peakRates(now: atPhase4)
        #expect(rates.keys.sorted() == ["fn"])
        #expect(rates["fn"] == 20)
        #expect(history.peakRates(now: Date(timeIntervalSince1970: start + 37.2))["fn"] == 0)
    }
}
