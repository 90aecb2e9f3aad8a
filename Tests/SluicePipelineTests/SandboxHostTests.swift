import Foundation
import SluiceSandbox
import SluiceTesting
import Testing

@Suite("What the host provides for sandboxes")
struct SandboxHostTests {
    @Test("A host without usable cgroups is refused, naming each missing controller")
    func missingCgroups() throws {
        let fake = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("no-cgroups"))
        try FileManager.default.createDirectory(at: fake, withIntermediateDirectories: true)
        #expect {
            try CgroupHost.detect(root: fake.path)
        } throws: { error in
            let text = "\(error)"
            return ["memory", "cpu", "cpuacct", "pids"].allSatisfy {
                text.contains("cgroup v1 controller \($0) is not mounted")
            }
        }
    }

    @Test("This host's cgroups are found, and a sandbox's cgroup takes the limits")
    func limits() async throws {
        let host = try CgroupHost.detect()
        let cgroup = try host.create(
            name: "\(getpid())-limits-\(UUID().uuidString.prefix(6))",
            limits: ResourceLimits(memoryMB: 96, cpuMillicores: 250, pidsMax: 20))
        defer { cgroup.destroy() }
        #expect(cgroup.processes.isEmpty)
        #expect(cgroup.procsFiles.count == (host.version == "v1" ? 4 : 1))
        if case .v1(let bases) = host.layout {
            let name = URL(fileURLWithPath: cgroup.procsFiles[0]).deletingLastPathComponent().lastPathComponent
            func read(_ controller: String, _ file: String) -> String? {
                try? String(contentsOfFile: "\(bases[controller]!)/\(name)/\(file)", encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            }
            #expect(read("memory", "memory.limit_in_bytes") == String(96 << 20))
            #expect(read("cpu", "cpu.cfs_quota_us") == "25000")
            #expect(read("pids", "pids.max") == "20")
        }
    }
}
