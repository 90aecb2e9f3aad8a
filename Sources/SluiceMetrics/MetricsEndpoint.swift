import Hummingbird
import Logging
import Metrics
import Prometheus
import Synchronization

/// Prometheus metrics of this process (swift-metrics → swift-prometheus), served at `/metrics`.
public enum PlatformMetrics {
    private static let bootstrapped = Mutex<PrometheusCollectorRegistry?>(nil)

    /// The registry every swift-metrics metric of this process reports to (bootstrapped once).
    public static var registry: PrometheusCollectorRegistry {
        bootstrapped.withLock { registry in
            if let registry { return registry }
            let made = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: made))
            registry = made
            return made
        }
    }

    /// The Prometheus text of every metric now.
    public static func text() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// Adds `GET /metrics` to a router.
    public static func route<Context: RequestContext>(_ router: Router<Context>) {
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: text())))
        }
    }

    /// Serves `/metrics` alone on `port` (127.0.0.1) until cancelled: for workers and the router.
    public static func serve(port: Int, logger: Logger) async throws {
        _ = registry
        let router = Router()
        route(router)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
        try await app.runService(gracefulShutdownSignals: [])
    }
}
