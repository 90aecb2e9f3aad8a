import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
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

    /// A service serving `/metrics` alone on `port` (127.0.0.1): for workers and the router. A port that
    /// cannot be bound ends it with an error naming the port.
    public static func server(port: Int, logger: Logger) -> some Service {
        _ = registry
        let router = Router()
        route(router)
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
    }
}
