import Foundation
import Hummingbird
import Logging
import SluiceMetrics

/// `sluice dashboard`: the page (`/`), the JSON API (`/api/lag`, `/api/groups`, `/api/topics`,
/// `/api/functions`, `/api/scaling`) and `/metrics`, on Hummingbird. Everything is served from here: the page works
/// offline (no CDN, no external fonts or scripts).
public struct DashboardServer: Sendable {
    let state: DashboardState
    let port: Int
    let host: String
    let logger: Logger

    public init(state: DashboardState, host: String = "127.0.0.1", port: Int, logger: Logger = Logger(label: "sluice.dashboard")) {
        self.state = state
        self.host = host
        self.port = port
        self.logger = logger
    }

    /// Serves until cancelled (the state's background tasks run alongside).
    public func run() async throws {
        _ = PlatformMetrics.registry
        let router = Router()
        let state = self.state
        router.get("/") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: DashboardPage.html)))
        }
        for api in DashboardState.API.allCases {
            router.get("/api/\(api.rawValue)") { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                    body: .init(byteBuffer: ByteBuffer(bytes: await state.json(api))))
            }
        }
        PlatformMetrics.route(router)
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port)), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await state.run() }
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            try await group.next()
            group.cancelAll()
        }
    }
}
