import ArgumentParser
import Foundation
import SluiceBroker
import SluiceKafka
import SluiceSupport
import SluiceTopics

/// `sluice up`: the platform in the foreground (what `make up` runs).
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start the embedded broker, apply Topics/ and run the platform until Ctrl-C.",
        discussion: "Example:\n  sluice up --port 9092    (then, in another terminal: sluice tail orders.created)"
    )

    @Option(help: "Port of the embedded broker on 127.0.0.1.") var port: Int = 9092

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

        print("""

            Sluice is up on \(broker.address). In another terminal:
              bin/sluice publish orders.created --key customer-7 --data '{"id": 1, "total": 12.5}'
              bin/sluice tail orders.created --from-beginning
              bin/sluice topics list
            Ctrl-C here (or `make down`) stops everything this started.
            """)
        fflush(nil)
        let signal = await SignalWaiter.wait()
        print("\nstopping (signal \(signal))…")
        if !already {
            await broker.stop()
            print("broker: stopped")
        }
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
