import ArgumentParser
import Foundation
import SluiceBroker
import SluiceFunctions
import SluiceKafka
import SluiceSupport
import SluiceTopics

/// `sluice up`: the platform in the foreground (what `make up` runs).
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Run the platform until Ctrl-C: embedded broker, Topics/, Config/functions, router, the worker supervisor and the dashboard.",
        discussion: "Example:\n  sluice up --port 9092    (then, in another terminal: sluice tail orders.created)"
    )

    @Option(help: "Port of the embedded broker on 127.0.0.1.") var port: Int = 9092
    @Option(name: .customLong("dashboard-port"), help: "Port of the dashboard on 127.0.0.1.") var dashboardPort: Int = 8080

    func run() async throws {
        let paths = ProjectPaths.discover()
        try FileManager.default.createDirectory(at: paths.run, withIntermediateDirectories: true)
        let upPID = paths.run.appendingPathComponent("up.pid")
        try "\(getpid())\n".write(to: upPID, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: upPID) }

        let broker = EmbeddedBroker(paths: paths, port: port)
        let (pid, already) = try await broker.start()
        print(already ? "broker: already running at \(broker.address) (pid \(pid))" : "broker: started at \(broker.address) (pid \(pid), log \(broker.logFile.path))")

        let admin = try KafkaAdmin.make(KafkaConnection(brokers: [broker.address], clientID: "sluice-up"))
        let catalog = try TopicCatalog.load(directory: paths.topics)
        let plan = try await TopicPlan.make(catalog: catalog, admin: admin)
        let created = try await plan.createMissing(admin: admin)
        await admin.close()
        print("topics: \(created.count) created, \(plan.matching.count) already there" + (plan.drift.isEmpty ? "" : ", \(plan.drift.count) drifted (see `sluice topics apply`)"))

        let connection = KafkaConnection(brokers: [broker.address], clientID: "sluice-up")
        try await deployExamples(paths: paths, connection: connection)
        let children = try startComponents(paths: paths, brokers: broker.address, dashboardPort: dashboardPort)

        print("""

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
        let signal = await SignalWaiter.wait()
        print("\nstopping (signal \(signal))…")
        for (name, pid) in children {
            await ChildProcess.terminate(pid, graceSeconds: 15)
            print("\(name): stopped")
        }
        if !already {
            await broker.stop()
            print("broker: stopped")
        }
    }
}

extension UpCommand {
    /// Deploys `Config/functions/` (unchanged manifests are left as they are).
    func deployExamples(paths: ProjectPaths, connection: KafkaConnection) async throws {
        let folder = paths.config.appendingPathComponent("functions").path
        let platform = try PlatformConfiguration.loadProject()
        let manifests = try DeployCommand.manifestFiles([folder]).map { try FunctionManifest.load(path: $0, platform: platform) }
        let registry = try await FunctionRegistry.load(connection: connection)
        let producer = try KafkaProducer.make(ProducerConfiguration(connection: connection))
        let deployer = FunctionDeployer(producer: producer, registry: registry)
        for manifest in manifests {
            switch try await deployer.deploy(manifest) {
            case .deployed(let spec): print("functions: deployed \(spec.name) version \(spec.version)")
            case .unchanged(let spec): print("functions: \(spec.name) version \(spec.version) is current")
            }
        }
        await producer.close()
        await registry.close()
    }

    /// On one machine, worker processes beyond its cores (and the 6 partitions) only compete for them.
    static var maxWorkers: Int { min(6, max(2, ProcessInfo.processInfo.activeProcessorCount)) }

    /// Starts the router, the worker supervisor (which starts the workers) and the dashboard as child
    /// processes of this one (killed with it if it dies).
    func startComponents(paths: ProjectPaths, brokers: String, dashboardPort: Int) throws -> [(String, pid_t)] {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        var children: [(String, pid_t)] = []
        for (name, arguments) in [
            ("router", ["router", "--metrics-port", "9100"]), (
                "supervisor",
                ["supervisor", "--min-workers", "1", "--max-workers", String(Self.maxWorkers), "--idle-seconds", "300", "--metrics-port-base", "9101"]
            ),
            ("dashboard", ["dashboard", "--port", String(dashboardPort)]),
        ] {
            let log = paths.run.appendingPathComponent("\(name).log")
            let pid = try ChildProcess.spawn(executable, arguments + ["--brokers", brokers], logFile: log, lifetime: .tiedToParent)
            print("\(name): started (pid \(pid), log \(log.path))")
            children.append((name, pid))
        }
        return children
    }
}

/// `sluice down`: stops what `sluice up` left running.
struct DownCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down",
        abstract: "Stop whatever `sluice up` (make up) left running.",
        discussion: "Example:\n  sluice down --port 9092"
    )

    @Option(help: "Port of the embedded broker on 127.0.0.1.") var port: Int = 9092
    @Option(name: .customLong("dashboard-port"), help: "Port of the dashboard on 127.0.0.1.") var dashboardPort: Int = 8080

    func run() async throws {
        let paths = ProjectPaths.discover()
        let upPID = paths.run.appendingPathComponent("up.pid")
        var stopped = false
        if let text = try? String(contentsOf: upPID, encoding: .utf8), let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)),
            ChildProcess.isAlive(pid)
        {
            await ChildProcess.terminate(pid, graceSeconds: 10)
            print("stopped sluice up (pid \(pid))")
            stopped = true
        }
        try? FileManager.default.removeItem(at: upPID)
        let broker = EmbeddedBroker(paths: paths, port: port)
        if await broker.stop() {
            print("stopped the broker at \(broker.address)")
            stopped = true
        }
        if !stopped { print("nothing of Sluice's was running") }
    }
}
