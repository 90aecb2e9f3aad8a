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
        var configuration = ServiceGroupConfiguration(
            services: services.map {
                .init(
                    service: $0, successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup)
            },
            gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        configuration.maximumGracefulShutdownDuration = gracePeriod
        try await ServiceGroup(configuration: configuration).run()
    }
}
