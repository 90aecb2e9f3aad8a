import Foundation
import Logging
import SluiceAutoscaler
import SluiceKafka
import SluiceRecords
import SluiceRegistry
import Synchronization

/// Each function's `DemandForecast`, learned from `sluice.invocation-log` (from its retained history on,
/// by record timestamps and the `sluice-function` header) for the supervisor's predictive pre-warming.
/// Every record is untrusted: one without a function header, with a timestamp outside [now − 8 periods,
/// now + 1 bucket], or naming a function past `maxFunctions` is not counted.
final class DemandHistory: Sendable {
    let settings: DemandForecast.Settings
    static let maxFunctions = 10_000
    private let forecasts = Mutex<[String: DemandForecast]>([:])

    init(settings: DemandForecast.Settings) { self.settings = settings }

    /// Counts one invocation-log record.
    func record(_ record: ConsumerRecord, now: Date = Date()) {
        let time = Double(record.timestampMs) / 1000
        let current = now.timeIntervalSince1970
        guard let function = record.headerText(SluiceHeader.function), !function.isEmpty, function.utf8.count <= 256,
            time <= current + settings.bucketSeconds, time >= current - 8 * settings.periodSeconds
        else { return }
        forecasts.withLock { forecasts in
            if forecasts[function] == nil, forecasts.count >= Self.maxFunctions { return }
            forecasts[function, default: DemandForecast(settings: settings)].record(at: time)
        }
    }

    /// The predicted peak rate (invocations per second, over the lead buckets) of every function whose
    /// forecast has seen a whole period (its seasonal profile; before that nothing is predicted), its quiet
    /// buckets closed up to now.
    func peakRates(now: Date = Date()) -> [String: Double] {
        let time = now.timeIntervalSince1970
        return forecasts.withLock { forecasts in
            var rates: [String: Double] = [:]
            for (function, var forecast) in forecasts {
                forecast.advance(to: forecast.bucket(at: time))
                forecasts[function] = forecast
                if forecast.seasonal { rates[function] = forecast.peakRate(at: time) }
            }
            return rates
        }
    }

}

/// What predictive pre-warming reads while the supervisor runs: the invocation log (from its retained
/// history) into a `DemandHistory`, and the registry for the functions that opted out.
final class DemandSources: Sendable {
    let history: DemandHistory
    let log: TopicFollower
    /// nil when the registry could not be read: no function is then opted out.
    let registry: FunctionRegistry?

    private init(history: DemandHistory, log: TopicFollower, registry: FunctionRegistry?) {
        self.history = history
        self.log = log
        self.registry = registry
    }

    /// nil when prediction is off, or (logged) when the invocation log cannot be read.
    static func open(_ configuration: Supervisor.Configuration, logger: Logger) async -> DemandSources? {
        guard let settings = configuration.prediction else { return nil }
        let log: TopicFollower
        do {
            log = try await TopicFollower.open(
                configuration.topics.invocationLog, from: TopicPartitionOffset.beginning,
                connection: configuration.connection, logger: logger)
        } catch {
            logger.error(
                "predictive pre-warming is off: cannot read the invocation log", metadata: ["error": "\(error)"])
            return nil
        }
        var registry: FunctionRegistry?
        do {
            registry = try await FunctionRegistry.load(
                connection: configuration.connection, topic: configuration.topics.functions, logger: logger)
        } catch {
            logger.warning(
                "predictive pre-warming cannot read the registry: no function is opted out",
                metadata: ["error": "\(error)"])
        }
        return DemandSources(history: DemandHistory(settings: settings), log: log, registry: registry)
    }

    /// Follows the log and the registry in `group` until `finish` (or cancellation).
    func start(in group: inout DiscardingTaskGroup) {
        let (history, log, registry) = (self.history, self.log, self.registry)
        group.addTask { await log.forEachRecord { history.record($0) } }
        if let registry { group.addTask { try? await registry.run() } }
    }

    /// Predicted rates of the functions that have not opted out.
    func predictedRates() -> [String: Double] {
        history.peakRates().filter { registry?.function(named: $0.key)?.manifest.predictivePrewarm != false }
    }

    func finish() { log.finish() }

    func close() async {
        await log.close()
        await registry?.close()
    }
}
