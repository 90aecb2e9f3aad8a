import Foundation
import Logging
import ServiceLifecycle
import SluiceBroker
import SluiceFunctions
import SluiceKafka
import SluiceRegistry
import SluiceSupport
import SluiceTopics

/// The whole platform on one machine (what `make up` runs): the embedded broker, the topics of
/// `Topics/`, the functions of `Config/functions/`, and the router, the worker supervisor and the
/// dashboard as child processes of this one (they die with it). A `Service`: a graceful shutdown stops
/// the children (each finishes its work and commits) and then the broker, if this started it.
public struct LocalPlatform: Service, Sendable {
    public var paths = ProjectPaths.discover()
    public var brokerPort = 9092
    public var dashboardPort = 8080
    /// The `sluice` executable the components run as.
    public var executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
    /// Progress lines for the person who started it.
    public var say: @Sendable (String) -> Void = { print($0) }

    public init() {}

    /// On one machine, worker processes beyond its cores (and the 6 partitions) only compete for them.
    public static var maxWorkers: Int { min(6, max(2, ProcessInfo.processInfo.activeProcessorCount)) }

    /// Where `run` records its pid, for `stopRunning`.
    public var pidFile: URL { paths.run.appendingPathComponent("up.pid") }

    public func run() async throws {
        try FileManager.default.createDirectory(at: paths.run, withIntermediateDirectories: true)
        try "\(getpid())\n".write(to: pidFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: pidFile) }
        let broker = EmbeddedBroker(paths: paths, port: brokerPort)
        let (pid, already) = try await broker.start()
        say(
            already
                ? "broker: already running at \(broker.address) (pid \(pid))"
                : "broker: started at \(broker.address) (pid \(pid), log \(broker.logFile.path))")
        let connection = KafkaConnection(brokers: [broker.address], clientID: "sluice-up")
        try await applyTopics(connection)
        let key = try SigningKey.loadOrCreate(path: SigningKey.projectPath)
        say("deploy key: \(SigningKey.projectPath) (public \(key.publicKey)), trusted by this platform's workers")
        try await deployFunctions(connection, key: key)
        let children = try startComponents(brokers: broker.address, trusting: key.publicKey)
        say(
            """

            Sluice is up on \(broker.address): the router, and a supervisor running 1 to \(Self.maxWorkers) workers by lag and load (logs in .run/).
            Dashboard: http://127.0.0.1:\(dashboardPort)/   Metrics (/metrics): router :9100, workers :9101 and up
            In another terminal:
              bin/sluice publish orders.created --key customer-7 --data '{"id": 1, "total": 12.5}'
              bin/sluice tail sluice.results --from-beginning
              bin/sluice invoke sha-echo --data '{"hello": "world"}'
              bin/sluice functions list
              bin/sluice lag --watch
            Ctrl-C here (or `make down`) stops everything this started.
            """)
        fflush(nil)
        try? await gracefulShutdown()
        say("\nstopping…")
        for (name, pid) in children {
            await ChildProcess.terminate(pid, graceSeconds: 15)
            say("\(name): stopped")
        }
        if !already {
            await broker.stop()
            say("broker: stopped")
        }
    }

    /// Stops what a `run` of another process left running (`make down`): that process, which stops its
    /// children, and the broker on `brokerPort`. Returns what it stopped, a line each.
    public func stopRunning() async -> [String] {
        var stopped: [String] = []
        if let text = try? String(contentsOf: pidFile, encoding: .utf8),
            let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)),
            ChildProcess.isAlive(pid)
        {
            await ChildProcess.terminate(pid, graceSeconds: 10)
            stopped.append("stopped sluice up (pid \(pid))")
        }
        try? FileManager.default.removeItem(at: pidFile)
        let broker = EmbeddedBroker(paths: paths, port: brokerPort)
        if await broker.stop() { stopped.append("stopped the broker at \(broker.address)") }
        return stopped
    }

    /// Creates the topics of `Topics/` that are missing.
    private func applyTopics(_ connection: KafkaConnection) async throws {
        let catalog = try TopicCatalog.load(directory: paths.topics)
        try await KafkaAdmin.with(connection) { admin in
            let plan = try await TopicPlan.make(catalog: catalog, admin: admin)
            let created = try await plan.createMissing(admin: admin)
            let drift = plan.drift.isEmpty ? "" : ", \(plan.drift.count) drifted (see `sluice topics apply`)"
            say("topics: \(created.count) created, \(plan.matching.count) already there" + drift)
        }
    }

    /// Deploys `Config/functions/` (unchanged manifests are left as they are).
    private func deployFunctions(_ connection: KafkaConnection, key: SigningKey) async throws {
        let platform = try PlatformConfiguration.loadProject()
        let folder = paths.config.appendingPathComponent("functions").path
        let manifests = try ManifestFiles.find([folder]).map { try FunctionManifest.load(path: $0, platform: platform) }
        try await FunctionDeployer.with(connection: connection, signingKey: key) { deployer in
            for manifest in manifests {
                switch try await deployer.deploy(manifest) {
                case .deployed(let spec): say("functions: deployed \(spec.name) version \(spec.version)")
                case .unchanged(let spec): say("functions: \(spec.name) version \(spec.version) is current")
                }
            }
        }
    }

    /// Starts the router, the worker supervisor (which starts the workers) and the dashboard.
    private func startComponents(brokers: String, trusting publicKey: String) throws -> [(String, pid_t)] {
        var children: [(String, pid_t)] = []
        let supervisor = [
            "supervisor", "--min-workers", "1", "--max-workers", String(Self.maxWorkers), "--idle-seconds", "300",
            "--metrics-port-base", "9101", "--trusted-key", publicKey,
        ]
        for (name, arguments) in [
            ("router", ["router", "--metrics-port", "9100"]), ("supervisor", supervisor),
            ("dashboard", ["dashboard", "--port", String(dashboardPort)]),
        ] {
            let log = paths.run.appendingPathComponent("\(name).log")
            let pid = try ChildProcess.spawn(
                executable, arguments + ["--brokers", brokers], logFile: log, lifetime: .tiedToParent)
            say("\(name): started (pid \(pid), log \(log.path))")
            children.append((name, pid))
        }
        return children
    }
}
