import Foundation
import SluiceSandbox
import SluiceSupport
import SluiceTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Processes whose cgroup path contains `marker` (e.g. `/sluice/<worker pid>-`), with the CPU ticks each
/// has used.
func sandboxedProcesses(_ marker: String) -> [(pid: pid_t, ticks: Int)] {
    let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { pid_t($0) }
    return pids.compactMap { pid in
        guard let cgroups = try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8),
            cgroups.contains(marker),
            let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return (pid, user + system)
    }
}

@Suite("Sandboxes never outlive their worker", .timeLimit(.minutes(5)))
struct SandboxLifetimeTests {
    @Test("A worker killed with SIGKILL takes its running sandboxes with it (a spinning function included)")
    func sandboxesDieWithTheirWorker() async throws {
        let harness = try await PipelineHarness.make()
        let name = uniqueName("spin")
        try await harness.deploy(
            try harness.writeFunction(
                "name: \(name)\ntenant: acme\nruntime: python3\nhandler: handler.main\ntimeout_seconds: 600\n",
                files: ["handler.py": "def main(event, context):\n    while True:\n        pass\n"]))
        let worker = try BackgroundSluice(
            ["worker"] + harness.workerArguments + [
                "--group", "spin-\(harness.invocationsTopic)", "--concurrency", "2",
            ])
        let marker = "/sluice/\(worker.pid)-"
        // Whatever happens below, nothing of this test keeps spinning.
        defer { for process in sandboxedProcesses(marker) { kill(process.pid, SIGKILL) } }
        _ = try await harness.publishRequests(function: name, count: 1, key: { _ in nil }, value: { _ in "1" })
        // Running: a process in one of the worker's cgroups has used half a second of CPU (polled: the
        // function's progress is no event the test can await).
        try await withDeadline(.seconds(120), "the function spinning in its sandbox") {
            while !sandboxedProcesses(marker).contains(where: { $0.ticks > 50 }) {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        worker.killHard()
        let gone = try await withDeadline(.seconds(30), "the sandbox ending after its worker") {
            while !sandboxedProcesses(marker).isEmpty { try await Task.sleep(for: .milliseconds(50)) }
            return true
        }
        #expect(gone)
    }

    @Test("A worker's start kills what runs in the cgroups of a worker that is gone, and removes them")
    func staleCgroupsAreCleared() async throws {
        // Under a parent of its own: a worker starting meanwhile would clear a stale cgroup under sluice/.
        let parent = "sluice-test-\(UUID().uuidString.prefix(8))"
        let host = try CgroupHost.detect(name: parent)
        defer {
            switch host.layout {
            case .v1(let bases): for base in bases.values { rmdir(base) }
            case .v2(let base): rmdir(base)
            }
        }
        // A pid that no longer runs: a child that has ended.
        let ended = try ChildProcess.spawn(
            "/bin/true", [], logFile: URL(fileURLWithPath: "/dev/null"), lifetime: .tiedToParent)
        _ = await ChildProcess.exitStatus(ended)
        let cgroup = try host.create(
            name: "\(ended)-stale-\(UUID().uuidString.prefix(6))",
            limits: ResourceLimits(memoryMB: 64, cpuMillicores: 100, pidsMax: 8))
        let sleeper = try ChildProcess.spawn(
            "/bin/sleep", ["600"], logFile: URL(fileURLWithPath: "/dev/null"), lifetime: .tiedToParent)
        defer { kill(sleeper, SIGKILL) }
        for file in cgroup.procsFiles { try "\(sleeper)\n".write(toFile: file, atomically: false, encoding: .utf8) }
        #expect(cgroup.processes == [sleeper])

        host.removeStale()

        #expect(await ChildProcess.exitStatus(sleeper) == 128 + SIGKILL)
        for file in cgroup.procsFiles {
            #expect(
                !FileManager.default.fileExists(atPath: URL(fileURLWithPath: file).deletingLastPathComponent().path))
        }
    }
}
