import Logging
import ServiceLifecycle

/// The one shutdown path of every long-running Sluice process: its services run in one `ServiceGroup`;
/// SIGTERM or SIGINT starts a graceful shutdown (services end in reverse order: the last listed first),
/// and whatever has not ended after `gracePeriod` is cancelled. A service that ends on its own shuts
/// the others down gracefully too.
public enum ProcessServices {
    /// Runs `services` until they end or the process is told to stop.
    /// - Throws: the first error a service threw.
    public static func run(_ services: [any Service], gracePeriod: Duration = .seconds(30), logger: Logger) async throws
    {
        try await group(services, handlingSignals: true, gracePeriod: gracePeriod, logger: logger).run()
    }

    /// The group `run` runs; not handling signals (tests), `triggerGracefulShutdown()` is how it stops, and
    /// without a `gracePeriod` it waits for its services however long they take.
    public static func group(
        _ services: [any Service], handlingSignals: Bool = false, gracePeriod: Duration? = nil, logger: Logger
    ) -> ServiceGroup {
        var configuration = ServiceGroupConfiguration(
            services: services.map {
                .init(
                    service: $0, successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup)
            },
            gracefulShutdownSignals: handlingSignals ? [.sigterm, .sigint] : [], cancellationSignals: [], logger: logger
        )
        configuration.maximumGracefulShutdownDuration = gracePeriod
        return ServiceGroup(configuration: configuration)
    }
}
