import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import SluiceMetrics

/// `sluice dashboard`: the page (`/`), the JSON API (`/api/lag`, `/api/groups`, `/api/topics`,
/// `/api/functions`, `/api/scaling`, `/api/deployments`) and `/metrics`, on Hummingbird. Everything is served from here: the
/// page works offline (no CDN, no external fonts or scripts).
///
/// A `Service`: the state's samplers and followers run alongside the HTTP server until a graceful
/// shutdown or cancellation.
public struct DashboardServer: Service, Sendable {
    let state: DashboardState
    let port: Int
    let host: String
    let logger: Logger

    public init(
        state: DashboardState, host: String = "127.0.0.1", port: Int, logger: Logger = Logger(label: "sluice.dashboard")
    ) {
        self.state = state
        self.host = host
        self.port = port
        self.logger = logger
    }

    /// The routes: the page, the JSON API and `/metrics` (what tests drive with `app.test(.router)`).
    public static func buildRouter(state: DashboardState) -> Router<BasicRequestContext> {
        _ = PlatformMetrics.registry
        let router = Router()
        router.get("/") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: DashboardPage.html)))
        }
        for api in DashboardState.API.allCases {
            router.get("/api/\(api.rawValue)") { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                    body: .init(byteBuffer: ByteBuffer(bytes: await state.json(api))))
            }
        }
        PlatformMetrics.route(router)
        return router
    }

    /// The HTTP application on `host:port`.
    public static func buildApplication(state: DashboardState, host: String, port: Int, logger: Logger)
        -> some ApplicationProtocol
    {
        Application(
            router: buildRouter(state: state), configuration: .init(address: .hostname(host, port: port)),
            logger: logger)
    }

    /// Serves until a graceful shutdown or cancellation.
    public func run() async throws {
        let app = Self.buildApplication(state: state, host: host, port: port, logger: logger)
        let state = self.state
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await cancelWhenGracefulShutdown { await state.run() } }
            group.addTask { try await app.run() }
            try await group.next()
            group.cancelAll()
        }
    }
}
