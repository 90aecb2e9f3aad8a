import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SluiceAutoscaler
import SluiceFunctions
import SluiceRecords
import SluiceRollout
import SluiceScaling
import SluiceSupport

/// `sluice supervisor`.
struct SupervisorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supervisor",
        abstract: "Run the worker pool and scale it from lag and load signals (Scaling Events on sluice.scaling).",
        discussion: """
            Every second: the workers' lag on the invocations topic, the arrival rate and the workers' \
            load samples go to the autoscaler; each decision is published as a Scaling Event (the seed's \
            schema) on sluice.scaling. Pool decisions start or stop `sluice worker` processes: up at once on \
            backlog (never more workers than partitions; per-worker throughput measured under backlog, \
            --per-worker-rps at most), down only after a stable window and a cooldown, to --min-workers \
            after the idle period; lag held by a record in retry is not backlog. Function decisions (warm \
            processes and concurrency per worker) are applied by the workers. Predictive pre-warming: each \
            function's invocations in sluice.invocation-log (its retained history on) are counted per \
            bucket; once a whole period has been seen, warm processes are decided ahead of the demand its \
            seasonal profile expects (Scaling Events with reason predicted_demand). A manifest's \
            `predictive_prewarm: false` turns it off for that function; --no-prediction for all. Canaries \
            (`sluice deploy --canary N`) are judged here: each one's error rate and warm p99 against the \
            stable version's (sluice.invocation-log) promote it after its bake time or roll it back, by the \
            manifest's `deploy:` thresholds; each decision is a deploy event on sluice.deployments \
            (--no-canary-judge: canaries wait for `sluice promote` or `sluice rollback`). `make up` runs it.

            Example:
              sluice supervisor --min-workers 1 --max-workers 6 --idle-seconds 300 --metrics-port-base 9101
            """
    )

    @Option(name: .customLong("min-workers"), help: "Workers kept however idle the pool is.") var minWorkers = 0
    @Option(name: .customLong("max-workers"), help: "At most this many workers (never more than the partitions).")
    var maxWorkers = 6
    @Option(name: .customLong("initial-workers"), help: "Workers started at once.") var initialWorkers = 1
    @Option(name: .customLong("per-worker-rps"), help: "Records per second one worker handles.") var perWorkerRPS =
        1000.0
    @Option(name: .customLong("drain-seconds"), help: "Seconds within which a backlog should drain.") var drainSeconds =
        10.0
    @Option(name: .customLong("idle-seconds"), help: "Idle seconds before scaling to zero.") var idleSeconds = 300.0
    @Option(name: .customLong("window-seconds"), help: "Scale-down stabilization window.") var windowSeconds = 30.0
    @Option(name: .customLong("cooldown-seconds"), help: "No scale-down within this long after a change.")
    var cooldownSeconds = 15.0
    @Option(name: .customLong("pool"), help: "The pool's function_id in Scaling Events.") var pool =
        "pool:sluice-workers"
    @Option(help: "The workers' consumer group.") var group = "sluice-workers"
    @Option(name: .customLong("invocations-topic"), help: "The workers' invocations topic.")
    var invocationsTopic = PlatformTopics.standard.invocations
    @Option(name: .customLong("worker-arg"), help: "An extra argument for every worker (repeatable).")
    var workerArguments: [String] = []
    @OptionGroup var trust: TrustedKeyOptions
    @Option(
        name: .customLong("metrics-port-base"),
        help: "Workers serve /metrics on this port + their slot (0 for the first worker running, 1 for the next…).")
    var metricsPortBase: Int?
    @Option(
        name: .customLong("predict-bucket-seconds"),
        help: "Predictive pre-warming: invocations counted per bucket of this many seconds.")
    var predictBucketSeconds = 60.0
    @Option(
        name: .customLong("predict-period-seconds"),
        help: "Predictive pre-warming: the period of the seasonal profile (a day by default).")
    var predictPeriodSeconds = 86_400.0
    @Option(
        name: .customLong("predict-lead-buckets"),
        help: "Predictive pre-warming: buckets looked ahead (2: a minute early)."
    )
    var predictLeadBuckets = 2
    @Flag(name: .customLong("no-prediction"), help: "No predictive pre-warming (functions scale on their load only).")
    var noPrediction = false
    @Flag(
        name: .customLong("no-canary-judge"),
        help: "Do not promote or roll back canaries on their figures (only `sluice promote|rollback` do).")
    var noCanaryJudge = false
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard minWorkers >= 0, maxWorkers >= max(1, minWorkers), perWorkerRPS > 0, idleSeconds > 0 else {
            throw ValidationError(
                "need 0 <= --min-workers <= --max-workers, --max-workers >= 1, and positive rates and times")
        }
        guard predictBucketSeconds >= 1, predictPeriodSeconds >= 2 * predictBucketSeconds,
            predictPeriodSeconds / predictBucketSeconds <= 10_080, (1...60).contains(predictLeadBuckets)
        else {
            throw ValidationError(
                "need --predict-bucket-seconds >= 1, a period of 2 to 10,080 buckets, and 1 to 60 lead buckets")
        }
    }

    func run() async throws {
        let logger = Logger(label: "sluice.supervisor")
        let paths = ProjectPaths.discover()
        try FileManager.default.createDirectory(at: paths.run, withIntermediateDirectories: true)
        var policy = Autoscaler.Policy()
        policy.minWorkers = minWorkers
        policy.maxWorkers = maxWorkers
        policy.perWorkerThroughput = perWorkerRPS
        policy.drainTargetSeconds = drainSeconds
        policy.idleSecondsBeforeZero = idleSeconds
        policy.scaleDownWindowSeconds = windowSeconds
        policy.cooldownSeconds = cooldownSeconds
        var configuration = Supervisor.Configuration(
            connection: connection.connection,
            executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path, logDirectory: paths.run)
        configuration.policy = policy
        configuration.poolID = pool
        configuration.workerGroup = group
        configuration.topics.invocations = invocationsTopic
        configuration.metricsPortBase = metricsPortBase
        configuration.report = { printError("supervisor: \($0)") }
        configuration.initialWorkers = min(max(initialWorkers, minWorkers), maxWorkers)
        if !noPrediction {
            var prediction = DemandForecast.Settings()
            prediction.bucketSeconds = predictBucketSeconds
            prediction.periodSeconds = predictPeriodSeconds
            prediction.leadBuckets = predictLeadBuckets
            configuration.prediction = prediction
        }
        configuration.workerArguments =
            ["--brokers", connection.brokerList, "--group", group, "--invocations-topic", invocationsTopic]
            + trust.arguments + workerArguments
        let supervisor = Supervisor(configuration: configuration, logger: logger)
        printError(
            "supervisor: pool \(pool), \(configuration.initialWorkers) worker(s) to start, at most \(maxWorkers)")
        var services: [any Service] = [supervisor]
        if !noCanaryJudge {
            var judging = CanaryJudge.Configuration(connection: connection.connection)
            judging.admission = try SpecAdmission.project()
            judging.report = { printError("supervisor: \($0)") }
            services.append(CanaryJudge(configuration: judging, logger: Logger(label: "sluice.canary")))
        }
        try await ProcessServices.run(services, logger: logger)
    }
}
