import SluiceScaling
import Testing

@Suite("The supervisor's books, without processes")
struct SupervisorStateMachineTests {
    typealias Action = SupervisorStateMachine.Action

    /// Carries out spawns with made-up pids, as the driver would.
    func spawn(_ actions: [Action], on machine: inout SupervisorStateMachine, pids: inout Int32) {
        for case .spawn(let id, _) in actions {
            pids += 1
            machine.spawned(id: id, pid: pids)
        }
    }

    @Test("Starts the initial workers on the lowest free slots; a decision adds and removes the newest first")
    func resize() {
        var machine = SupervisorStateMachine(poolID: "pool:p", initialWorkers: 2)
        var pids: Int32 = 100
        let start = machine.tick(now: 0)
        #expect(start == [.spawn(id: "pool-p-1", slot: 0), .spawn(id: "pool-p-2", slot: 1)])
        spawn(start, on: &machine, pids: &pids)
        let up = machine.decide(3, now: 1)
        #expect(up == [.spawn(id: "pool-p-3", slot: 2)])
        spawn(up, on: &machine, pids: &pids)
        #expect(
            machine.decide(1, now: 2) == [.terminate(id: "pool-p-3", pid: 103), .terminate(id: "pool-p-2", pid: 102)])
        // The freed slots are taken again first.
        #expect(machine.decide(2, now: 3) == [.spawn(id: "pool-p-4", slot: 1)])
        #expect(machine.tick(now: 4) == [])
    }

    @Test("Workers that keep exiting at start are replaced after 2, 4, 8 s; one that lived long resets the pause")
    func restartBackoff() {
        var machine = SupervisorStateMachine(poolID: "pool:p", initialWorkers: 1)
        var pids: Int32 = 0
        var now = 0.0
        spawn(machine.tick(now: now), on: &machine, pids: &pids)
        var pauses: [Int] = []
        for _ in 0..<3 {
            now += 1
            let exited = machine.exited([pids], now: now)
            guard case .exited(_, let pause)? = exited.first else { break }
            pauses.append(pause)
            #expect(machine.tick(now: now + Double(pause) - 0.5) == [], "restarted before the pause ended")
            now += Double(pause)
            spawn(machine.tick(now: now), on: &machine, pids: &pids)
        }
        #expect(pauses == [2, 4, 8])
        now += 60
        #expect(machine.exited([pids], now: now) == [.exited(id: "pool-p-4", restartInSeconds: 1)])
    }

    @Test("A failed spawn drops the pending ones; the next tick tries again; stopping terminates all")
    func spawnFailureAndStop() {
        var machine = SupervisorStateMachine(poolID: "pool:p", initialWorkers: 2)
        #expect(machine.tick(now: 0).count == 2)
        machine.spawnFailed()
        #expect(machine.workers.isEmpty)
        var pids: Int32 = 10
        spawn(machine.tick(now: 1), on: &machine, pids: &pids)
        #expect(machine.stopAll() == [.terminate(id: "pool-p-3", pid: 11), .terminate(id: "pool-p-4", pid: 12)])
        #expect(machine.workers.isEmpty)
    }
}
