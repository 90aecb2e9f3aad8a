/// The supervisor's bookkeeping of its worker processes as pure logic: events in (a pool decision, a
/// tick of the clock, workers that exited, a spawn that worked or failed), actions out (spawn, terminate,
/// report). The `Supervisor` carries the actions out; tests drive this without processes.
///
/// - A decision resizes the pool at once: new workers take the lowest free metrics slot; the newest
///   workers are the first to go.
/// - A worker that exits on its own is replaced; while workers keep exiting within 10 s of their start,
///   the pause before the next start doubles from 2 s up to 60 s (1 s again after a worker lived longer).
public struct SupervisorStateMachine: Sendable {
    public struct Worker: Sendable, Equatable {
        public var id: String
        /// 0 while its spawn is being carried out.
        public var pid: Int32
        public var slot: Int
        /// When it started (seconds on the supervisor's clock).
        public var since: Double
    }

    public enum Action: Sendable, Equatable {
        case spawn(id: String, slot: Int)
        case terminate(id: String, pid: Int32)
        /// A worker exited on its own; the next start comes in `restartInSeconds`.
        case exited(id: String, restartInSeconds: Int)
    }

    public let poolID: String
    public private(set) var workers: [Worker] = []
    /// The pool size the autoscaler decided last.
    public private(set) var desired: Int
    private var restartBackoff = 1.0
    private var nextRestart = 0.0
    private var started = 0

    public init(poolID: String, initialWorkers: Int) {
        self.poolID = poolID
        self.desired = initialWorkers
    }

    /// The autoscaler decided `count` workers.
    public mutating func decide(_ count: Int, now: Double) -> [Action] {
        desired = count
        return resize(now: now)
    }

    /// Once a second: starts the missing workers when the restart pause has passed.
    public mutating func tick(now: Double) -> [Action] {
        guard workers.count < desired, now >= nextRestart else { return [] }
        return resize(now: now)
    }

    /// Workers (by pid) that are no longer alive.
    public mutating func exited(_ pids: Set<Int32>, now: Double) -> [Action] {
        let gone = workers.filter { $0.pid != 0 && pids.contains($0.pid) }
        guard !gone.isEmpty else { return [] }
        workers.removeAll { worker in gone.contains { $0.pid == worker.pid } }
        let soon = gone.contains { now - $0.since < 10 }
        restartBackoff = soon ? min(restartBackoff * 2, 60) : 1
        nextRestart = now + restartBackoff
        return gone.map { .exited(id: $0.id, restartInSeconds: Int(restartBackoff)) }
    }

    /// A spawn action was carried out.
    public mutating func spawned(id: String, pid: Int32) {
        if let index = workers.firstIndex(where: { $0.id == id }) { workers[index].pid = pid }
    }

    /// A spawn failed: it and the spawns not yet carried out are dropped (the next tick tries again).
    public mutating func spawnFailed() {
        workers.removeAll { $0.pid == 0 }
    }

    /// Stopping: every worker is terminated.
    public mutating func stopAll() -> [Action] {
        defer { workers = [] }
        return workers.filter { $0.pid != 0 }.map { .terminate(id: $0.id, pid: $0.pid) }
    }

    private mutating func resize(now: Double) -> [Action] {
        var actions: [Action] = []
        while workers.count < desired {
            started += 1
            let id = "\(poolID.replacingOccurrences(of: ":", with: "-"))-\(started)"
            let slot = (0...).first { slot in !workers.contains { $0.slot == slot } } ?? workers.count
            workers.append(Worker(id: id, pid: 0, slot: slot, since: now))
            actions.append(.spawn(id: id, slot: slot))
        }
        while workers.count > desired, let last = workers.popLast() {
            if last.pid != 0 { actions.append(.terminate(id: last.id, pid: last.pid)) }
        }
        return actions
    }
}
