import SluiceAutoscaler
import Testing

@Suite("Demand forecast: seasonal profile and EWMA trend (pure logic)")
struct DemandForecastTests {
    /// A 10-bucket period of 1 s buckets, looking 2 buckets ahead.
    func settings() -> DemandForecast.Settings {
        var settings = DemandForecast.Settings()
        settings.bucketSeconds = 1
        settings.periodSeconds = 10
        settings.leadBuckets = 2
        return settings
    }

    /// Plays `periods` periods of a burst of 50 invocations in phases 3 and 4, nothing elsewhere.
    func bursts(_ periods: Int, into forecast: inout DemandForecast) {
        for second in 0..<(periods * 10) where [3, 4].contains(second % 10) {
            forecast.record(50, at: Double(second) + 0.5)
        }
        forecast.advance(to: periods * 10)
    }

    @Test("Bursts every period: after one period the burst is expected at its phase, and not elsewhere")
    func periodicBursts() {
        var forecast = DemandForecast(settings: settings())
        bursts(3, into: &forecast)
        #expect(forecast.seasonal)
        #expect(forecast.forecast(bucket: 33) == 50)
        #expect(forecast.forecast(bucket: 34) == 50)
        #expect(forecast.forecast(bucket: 37) == 0)
        // Two buckets ahead: at phase 2 the burst is one bucket away; at phase 0 it is not yet in view.
        #expect(forecast.peakRate(at: 32.1) == 50)
        #expect(forecast.peakRate(at: 30.1) == 0)
        #expect(forecast.profile.count == 10)
    }

    @Test("Before a whole period the forecast follows the level and the trend of a rising load")
    func trend() {
        var forecast = DemandForecast(settings: settings())
        for second in 0..<6 { forecast.record(10 * (second + 1), at: Double(second)) }
        forecast.advance(to: 6)
        #expect(!forecast.seasonal)
        #expect(forecast.trend > 0)
        #expect(forecast.forecast(bucket: 8) > forecast.forecast(bucket: 6))
        #expect(forecast.forecast(bucket: 6) > 30)
    }

    @Test("A season that stops: each quiet period halves the burst expected at its phase")
    func forgets() {
        var forecast = DemandForecast(settings: settings())
        bursts(2, into: &forecast)
        forecast.advance(to: 30)
        #expect(forecast.forecast(bucket: 33) == 25)
        forecast.advance(to: 40)
        #expect(forecast.forecast(bucket: 43) == 12.5)
        // Its tail never reaches zero; below one invocation per bucket it asks for nothing.
        for period in stride(from: 50, through: 100, by: 10) { forecast.advance(to: period) }
        #expect(forecast.forecast(bucket: 103) > 0)
        #expect(forecast.peakRate(at: 102.5) == 0)
    }

    @Test("A jump of years closes one period only (each phase takes one empty bucket); earlier records are late")
    func boundedWork() {
        var forecast = DemandForecast(settings: settings())
        bursts(2, into: &forecast)
        let before = forecast.history
        forecast.record(1, at: 4_000_000_000)
        #expect(forecast.history - before <= 11)
        forecast.record(1, at: 5)
        #expect(forecast.late == 1)
        #expect(forecast.profile.max() == 25)
    }
}

@Suite("Warm processes ahead of predicted demand (pure logic)")
struct PredictedDemandTests {
    func quiet(_ t: Int) -> FunctionSignal {
        FunctionSignal(time: Double(t), invocationsPerSecond: 0, meanDurationMs: 50, inFlight: 0, queued: 0)
    }

    @Test("A predicted burst scales up before any load, reason predicted_demand; none predicted, none added")
    func ahead() throws {
        var scaler = FunctionScaler(functionID: "fn_morning")
        // 200 invocations per second of 50 ms: 10 running, plus the reserve of 1 per worker (2 workers).
        let wanted = scaler.predicted(rate: 200, meanDurationMs: 50, workers: 2)
        #expect(wanted == 12)
        #expect(scaler.predicted(rate: 0, meanDurationMs: 50, workers: 2) == 0)
        #expect(scaler.predicted(rate: .nan, meanDurationMs: 50, workers: 2) == 0)
        #expect(scaler.observe(quiet(0), workers: 2) == nil)
        let decision = scaler.observe(quiet(1), workers: 2, predictedInstances: wanted)
        let event = try #require(decision)
        #expect(event.reason == "predicted_demand")
        #expect(event.eventType == .scaleUp)
        #expect(event.instancesAfter == 12)
        #expect(event.warmProcesses == 6)
    }

    @Test("While demand is predicted the warm processes do not go to zero; once it is not, the idle rule applies")
    func heldWhilePredicted() {
        var policy = FunctionScaler.Policy()
        policy.idleSecondsBeforeZero = 10
        var scaler = FunctionScaler(functionID: "fn_held", policy: policy)
        _ = scaler.observe(quiet(0), workers: 1, predictedInstances: 4)
        let held = (1..<60).compactMap { scaler.observe(quiet($0), workers: 1, predictedInstances: 4) }
        #expect(held.isEmpty, "\(held.map(\.reason))")
        let later = (60..<200).compactMap { scaler.observe(quiet($0), workers: 1) }
        #expect(later.contains { $0.eventType == .scaleToZero })
    }
}
