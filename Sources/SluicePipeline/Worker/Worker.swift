import Foundation
import Logging
import ServiceLifecycle
import SluiceArtifacts
import SluiceKafka
import SluiceRecords
import SluiceRegistry
import SluiceRuntime
import SluiceSandbox
import SluiceSupport

/// A member of the `sluice-workers` group on `sluice.invocations`: runs each request's function, writes
/// its result and invocation-log records, and commits only the contiguous prefix of finished offsets.
///
/// Per partition, records of different keys run concurrently (up to the function's `max_concurrency`
/// and the worker's `concurrency`), records of one key in order (`ordering: key`), a whole partition in
/// order (`ordering: partition`), or with no order at all (`ordering: none`).
///
/// A failed attempt goes, by the function's retry policy, to a retry tier topic (the worker's retry
/// consumer runs it again when due) or to the dead-letter topic; the request's offset commits once that
/// record is acknowledged. While a record is in retry, later records of its key (of its partition for
/// `ordering: partition`) wait for its chain to end.
///
/// A `Service`: a graceful shutdown (SIGTERM in `sluice worker`) stops taking records, finishes the
/// invocations running, leaves records that had not started to the partition's next owner, commits and
/// returns.
public final class Worker: Service, Sendable {
    let configuration: Configuration
    let registry: FunctionRegistry
    let runner: FunctionRunner
    /// Checks signatures and fetches and unpacks artifacts: what runs is only what it gives.
    let artifacts: ArtifactResolver
    let logger: Logger
    private let stopper = ConsumerStopper()
    /// Spare cgroups to remove when the worker ends (nil when the launcher was given).
    private let sandboxing: Sandboxing?

    init(
        configuration: Configuration, registry: FunctionRegistry, runner: FunctionRunner, sandboxing: Sandboxing?,
        logger: Logger
    ) {
        self.configuration = configuration
        self.registry = registry
        self.runner = runner
        self.sandboxing = sandboxing
        self.logger = logger
        self.artifacts = ArtifactResolver(
            cache: ArtifactCache(root: configuration.artifactCacheFolder),
            shelf: ArtifactShelf(connection: configuration.connection, topic: configuration.topics.artifacts),
            trustedKeys: configuration.allTrustedKeys, limit: configuration.platform.maxArtifactBytes)
    }

    /// The worker `sluice worker` runs. Function processes start through `launcher`, or, when nil, in
    /// sandboxes prepared here from `configuration.platform` (the host is probed once).
    /// - Throws: `SandboxUnavailable` when this host cannot run function sandboxes.
    public static func build(
        configuration: Configuration, registry: FunctionRegistry, launcher: ProcessLauncher? = nil, logger: Logger
    ) async throws -> Worker {
        let platform = configuration.platform
        var sandboxing: Sandboxing?
        let processLauncher: ProcessLauncher
        if let launcher {
            processLauncher = launcher
        } else {
            let prepared = try await Sandboxing.prepare(allowWithoutCgroups: platform.allowWithoutCgroups)
            sandboxing = prepared
            processLauncher = ProcessLauncher(
                sandboxing: prepared, allowIsolationNone: platform.allowIsolationNone, uid: platform.sandboxUID,
                gid: platform.sandboxGID)
        }
        let runner = FunctionRunner(
            launcher: processLauncher, standbyProcesses: platform.standbyProcesses, logger: logger)
        return Worker(
            configuration: configuration, registry: registry, runner: runner, sandboxing: sandboxing, logger: logger)
    }

    /// What `sluice worker` prints when it starts.
    public var summary: String {
        let cgroups =
            sandboxing.map { $0.cgroups?.version ?? "none (no resource limits)" } ?? "as the launcher was given"
        return
            "worker \(configuration.workerID) running on \(configuration.connection.brokerList) with \(registry.all.count) functions; "
            + "sandboxes with cgroup \(cgroups)"
    }

    /// Stops taking records; `run` then finishes the invocations running, leaves records that had not
    /// started uncommitted (their next owner runs them), commits and returns.
    public func stop() {
        stopper.stop()
    }

    /// Consumes and runs invocations (and their retries) until `stop()` or a graceful shutdown.
    /// (Cancelling the task instead would cut running invocations short.)
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await work()
        } onGracefulShutdown: {
            self.stop()
        }
    }

    private func work() async throws {
        let connection = configuration.connection
        let tiers: RetryTiers
        if let configured = configuration.retryTiers {
            tiers = configured
        } else {
            tiers = try await RetryTiers.discover(prefix: configuration.topics.retryPrefix, connection: connection)
        }
        let signer = try configuration.resultSigner ?? ResultSigner.project()
        let index = try await OutcomeIndex.start(
            connection: connection, topic: configuration.topics.results,
            windowPerPartition: configuration.resultsWindowPerPartition, signer: signer, logger: logger)
        stopper.onStop { index.wakeWaiters() }
        let load = WorkerLoad()
        let concurrency = FunctionConcurrency()
        let recorder = AttemptRecorder(
            workerID: configuration.workerID, topics: configuration.topics, signer: signer, logger: logger)
        let handler = InvocationHandler(
            configuration: configuration, registry: registry, runner: runner, artifacts: artifacts, index: index,
            recorder: recorder, load: load, concurrency: concurrency, tiers: tiers, logger: logger)
        // A grace of 0: revocations do not wait (nor warn that running work outlived them).
        let grace = configuration.revocationGrace > .zero ? configuration.revocationGrace : nil
        let main = GroupClients.Options(
            groupID: configuration.groupID, bufferCapacity: configuration.maxInFlight, revocationGrace: grace)
        // A retry waits for its backoff anyway; fewer empty fetches leave the broker's CPU to the main path.
        let retry = GroupClients.Options(
            groupID: configuration.retryGroupID, bufferCapacity: configuration.maxRetriesHeld, fetchWaitMaxMs: 200,
            revocationGrace: grace)
        do {
            try await GroupClients.with(connection: connection, main, logger: logger) { clients in
                try await GroupClients.with(connection: connection, retry, logger: logger) { retryClients in
                    let retries = RetryConsumer(
                        clients: retryClients, topics: tiers.topics, maxHeld: configuration.maxRetriesHeld,
                        maxHeldBytes: configuration.maxRetriesHeldBytes, stopper: stopper, logger: logger,
                        longestHoldMs: { [registry] record in
                            let function = record.headerText(SluiceHeader.function) ?? ""
                            return registry.function(named: function).map { Int64($0.manifest.retry.maxMs) + 1000 } ?? 0
                        }
                    ) { record, producer in
                        _ = await handler.handle(record, producer: producer)
                    }
                    try clients.consumer.subscribe(topics: [configuration.topics.invocations])
                    stopper.attach(clients.consumer)
                    try retries.subscribe()
                    for spec in registry.all.map(\.stable) where spec.manifest.minWarm > 0 {
                        if case .success(let resolved) = await artifacts.resolve(spec) {
                            await runner.prewarm(resolved)
                        }
                    }
                    let reporter = LoadReporter(
                        configuration: configuration, load: load, runner: runner, clients: clients, logger: logger)
                    let decisions = ScalingDecisionFollower(
                        configuration: configuration, registry: registry, runner: runner, artifacts: artifacts,
                        concurrency: concurrency, logger: logger)
                    await withTaskGroup(of: Void.self) { helpers in
                        helpers.addTask { try? await index.run() }
                        helpers.addTask { await self.maintainWarmPools() }
                        helpers.addTask { await reporter.run() }
                        helpers.addTask { await decisions.run() }
                        async let retrying: Void = retries.run()
                        await consume(clients, handler: handler, load: load)
                        stopper.stop()
                        await retrying
                        helpers.cancelAll()
                    }
                }
            }
        } catch {
            // Not started, or it failed: the index may never have run (and closed itself).
            await index.close()
            await runner.shutdown()
            sandboxing?.removeSpares()
            throw error
        }
        await runner.shutdown()
        sandboxing?.removeSpares()
    }

    /// Retires warm processes idle past the TTL and of versions no longer deployed, every 5 s; marks the
    /// artifacts of deployed versions used, and once a minute evicts the others idle past
    /// `limits.artifact_cache_idle_s` (`ArtifactCache.evict`).
    private func maintainWarmPools() async {
        var ticks = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(5))
            ticks += 1
            await upkeepArtifacts(evicting: ticks % 12 == 0)
            // The current versions of functions with pools are resolved first (fetched when new), so that
            // a redeployed version's successor is known resolved.
            for name in await runner.warmProcesses().keys {
                for spec in registry.function(named: name)?.running ?? [] { _ = await artifacts.resolve(spec) }
            }
            await runner.maintain(ttl: configuration.warmTTL) { name in
                (registry.function(named: name)?.running ?? []).compactMap { artifacts.resolved($0) }
            }
        }
    }

    /// The main loop on the invocations topic.
    private func consume(_ clients: GroupClients, handler: InvocationHandler, load: WorkerLoad) async {
        let (consumer, producer, commits) = (clients.consumer, clients.producer, clients.commits)
        let taken = AsyncSemaphore(permits: configuration.maxInFlight)
        let takenBytes = ByteBudget(limit: configuration.maxInFlightBytes)
        let gates = KeyGates()
        let ownership = clients.ownership
        let takenOver = TakenOverChains()
        // Key holds of revoked partitions give up at once (`holdKey`'s give-up condition asks).
        ownership.onRevoke { handler.index.wakeWaiters() }
        // Discarding: a finished invocation's task is freed at once (a plain group keeps every child until
        // `next()`, some 15 KB each: 1 GB after 30,000 invocations).
        await withDiscardingTaskGroup { group in
            for await event in consumer.events {
                switch event {
                case .assigned(let partitions):
                    logger.info("partitions assigned", metadata: ["partitions": "\(partitions)"])
                    // Results written by a previous owner must be known before its records are redone.
                    do { try await handler.index.catchUp() } catch { logger.warning("\(error)") }
                    for hold in handler.takeOverHolds(of: partitions, gates: gates) {
                        let (id, generation) = (hold.invocationID, ownership.generation(of: hold.partition))
                        takenOver.hold(id)
                        group.addTask {
                            await handler.holdKey(for: id, bound: hold.bound, partition: hold.partition) {
                                self.stopper.isStopped || !ownership.isCurrent(hold.partition, generation: generation)
                                    || takenOver.isReleased(id)
                            }
                            takenOver.ended(id)
                            hold.ticket.finish()
                        }
                    }
                case .revoked(let partitions):
                    logger.info("partitions revoked", metadata: ["partitions": "\(partitions)"])
                    await clients.revoked(partitions)
                case .record(let record):
                    let takenAt = Date()
                    // The request of a chain whose hold was taken over: the chain starts over with it.
                    if !takenOver.isEmpty, let id = record.headerText(SluiceHeader.invocationID), takenOver.release(id)
                    {
                        handler.index.wakeWaiters()
                    }
                    await commits.started(record)
                    await taken.acquire()
                    let bytes = record.byteCount
                    await takenBytes.acquire(bytes)
                    load.took()
                    let ticket = handler.orderingTicket(record, gates: gates)
                    let generation = ownership.generation(of: record.topicPartition)
                    group.addTask {
                        defer {
                            load.untook()
                            takenBytes.release(bytes)
                            taken.release()
                        }
                        await ticket?.wait()
                        // Not started before a stop or the partition's revocation: left uncommitted for
                        // the partition's next owner (maybe this worker again, from the committed offset).
                        // Once started, a revocation waits for it (`GroupClients.revoked`).
                        let partition = record.topicPartition
                        let revoked: @Sendable () -> Bool = { !ownership.isCurrent(partition, generation: generation) }
                        guard ownership.begin(partition, generation: generation) else {
                            ticket?.finish()
                            return
                        }
                        let disposition = await handler.handle(
                            record, producer: producer, takenAt: takenAt,
                            abandoned: { self.stopper.isStopped || revoked() })
                        if case .abandoned = disposition {
                            ownership.end(partition)
                            ticket?.finish()
                            return
                        }
                        await commits.finished(record)
                        ownership.end(partition)
                        if let ticket, case .retrying(let id, let bound) = disposition {
                            await handler.holdKey(for: id, bound: bound, partition: partition) {
                                self.stopper.isStopped || revoked()
                            }
                            ticket.finish()
                        } else {
                            ticket?.finish()
                        }
                    }
                case .error(let error):
                    logger.warning("consumer error", metadata: ["error": "\(error)"])
                case .partitionEOF:
                    break
                }
            }
            // Stopped: the group waits here for the invocations already running.
        }
    }
}
