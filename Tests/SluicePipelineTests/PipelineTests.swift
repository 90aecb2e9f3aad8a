import Foundation
import SluiceFunctions
import SluiceKafka
import SluicePipeline
import SluiceRecords
import SluiceSupport
import SluiceTesting
import Testing

@Suite("Functions on Kafka: router, workers, results and logs", .timeLimit(.minutes(5)))
struct PipelineTests {
    static let echoPython = """
        import os, time
        def main(event, context):
            return {"echo": event, "greeting": os.environ.get("GREETING"), "attempt": context["attempt"], "trigger": context["trigger"]}
        """

    @Test("One event, two subscribed functions (python3 and exec): two success results and two seed-schema log records")
    func fanOut() async throws {
        let harness = try await PipelineHarness.make()
        let trigger = try await makeTestTopic("trigger", partitions: 3)
        let python = uniqueName("echo")
        let exec = uniqueName("count")
        try await harness.deploy(
            try harness.writeFunction(
                """
                name: \(python)
                tenant: acme
                runtime: python3
                handler: handler.main
                event_triggers: [\(trigger)]
                environment_vars: {GREETING: hi}
                """, files: ["handler.py": Self.echoPython]))
        try await harness.deploy(
            try harness.writeFunction(
                """
                name: \(exec)
                tenant: globex
                runtime: exec
                handler: count.sh
                event_triggers: [\(trigger)]
                """, files: ["count.sh": "#!/bin/sh\nprintf '{\"words\": %s}' $(wc -w)\n"]))
        let (registry, follow) = try await harness.liveRegistry()
        let worker = try await harness.startWorker(registry: registry)
        let router = harness.startRouter(registry: registry, functions: [python, exec])

        let producer = try KafkaProducer.make(ProducerConfiguration(connection: harness.connection))
        _ = try await producer.send(
            ProducerRecord(
                topic: trigger, key: Array("k1".utf8), value: Array("\"three little words\"".utf8),
                headers: [TraceParent.start().header]))
        await producer.close()

        let pythonResults = try await harness.readJSON("sluice.results", function: python) { $0.count >= 1 }
        let execResults = try await harness.readJSON("sluice.results", function: exec) { $0.count >= 1 }
        let pythonLogs = try await harness.readJSON("sluice.invocation-log", function: python) { $0.count >= 1 }
        let execLogs = try await harness.readJSON("sluice.invocation-log", function: exec) { $0.count >= 1 }
        await router.stop()
        await worker.stop()
        follow.cancel()

        let p = try #require(pythonResults.first)
        #expect(p["status"] as? String == "success")
        let output = try #require(p["output"] as? [String: any Sendable])
        #expect(output["echo"] as? String == "three little words")
        #expect(output["greeting"] as? String == "hi")
        #expect((output["trigger"] as? [String: any Sendable])?["topic"] as? String == trigger)
        let e = try #require(execResults.first)
        #expect(e["status"] as? String == "success")
        #expect((e["output"] as? [String: any Sendable])?["words"] as? Double == 3)
        #expect(p["invocation_id"] as? String != e["invocation_id"] as? String)
        for log in pythonLogs + execLogs {
            for field in [
                "invocation_id", "function_id", "tenant_id", "worker_id", "start_time", "end_time", "duration_ms",
                "cold_start",
                "status", "memory_used_mb", "cpu_ms_used", "request_id", "trigger",
            ] {
                #expect(log[field] != nil, "invocation log lacks \(field)")
            }
            #expect(log["status"] as? String == "success")
            #expect(log["trigger"] as? String == "kafka:\(trigger)")
        }
        #expect(pythonLogs.first?["tenant_id"] as? String == "acme")
        #expect(execLogs.first?["tenant_id"] as? String == "globex")
    }

    @Test("2000 events over 50 keys: one success each, per-key order kept, several at once")
    func keyOrdering() async throws {
        let harness = try await PipelineHarness.make()
        let name = uniqueName("ordered")
        try await harness.deploy(
            try harness.writeFunction(
                """
                name: \(name)
                tenant: acme
                runtime: python3
                handler: handler.main
                max_concurrency: 8
                ordering: key
                timeout_seconds: 30
                """,
                files: [
                    "handler.py": """
                    import time
                    def main(event, context):
                        start = time.time()
                        time.sleep(0.002)
                        return {"key": context["key"], "seq": event["seq"], "start": start, "end": time.time()}
                    """
                ]))
        let (registry, follow) = try await harness.liveRegistry()
        let worker = try await harness.startWorker(registry: registry, concurrency: 16)
        let ids = try await harness.publishRequests(
            function: name, count: 2000, key: { "key-\($0 % 50)" }, value: { "{\"seq\": \($0)}" })
        let results = try await harness.readJSON("sluice.results", function: name, timeout: .seconds(240)) {
            $0.count >= 2000
        }
        await worker.stop()
        follow.cancel()

        #expect(results.count == 2000)
        #expect(Set(results.compactMap { $0["invocation_id"] as? String }) == Set(ids))
        #expect(results.allSatisfy { $0["status"] as? String == "success" })
        var byKey: [String: [(seq: Double, start: Double, end: Double)]] = [:]
        var intervals: [(start: Double, end: Double)] = []
        for result in results {
            let output = try #require(result["output"] as? [String: any Sendable])
            let entry = (
                seq: output["seq"] as! Double, start: output["start"] as! Double, end: output["end"] as! Double
            )
            byKey[output["key"] as! String, default: []].append(entry)
            intervals.append((entry.start, entry.end))
        }
        #expect(byKey.count == 50)
        for (key, entries) in byKey {
            let bySeq = entries.sorted { $0.seq < $1.seq }
            for (earlier, later) in zip(bySeq, bySeq.dropFirst()) {
                #expect(later.start >= earlier.end, "\(key): seq \(later.seq) started before seq \(earlier.seq) ended")
            }
        }
        let sorted = intervals.sorted { $0.start < $1.start }
        let overlapping = zip(sorted, sorted.dropFirst()).contains { $1.start < $0.end }
        #expect(overlapping, "no two invocations ever ran at once")
    }

    @Test("A function sleeping past timeout_seconds ends as timeout and its process tree is gone")
    func timeout() async throws {
        let harness = try await PipelineHarness.make()
        let name = uniqueName("sleepy")
        // A duration nothing else uses marks the function's processes in the host's process table.
        let marker = String(Int.random(in: 100_000...999_999))
        try await harness.deploy(
            try harness.writeFunction(
                """
                name: \(name)
                tenant: acme
                runtime: exec
                handler: sleep.sh
                timeout_seconds: 1
                retry:
                  max_attempts: 1
                """, files: ["sleep.sh": "#!/bin/sh\nsleep \(marker) &\nsleep \(marker)\n"]))
        let (registry, follow) = try await harness.liveRegistry()
        let worker = try await harness.startWorker(registry: registry)
        _ = try await harness.publishRequests(function: name, count: 1, key: { _ in nil }, value: { _ in "x" })
        let results = try await harness.readJSON("sluice.results", function: name) { $0.count >= 1 }
        await worker.stop()
        follow.cancel()
        #expect(results.first?["status"] as? String == "timeout")
        let launcher = try #require(results.first?["runtime_pid"] as? Double)
        #expect(!ChildProcess.isAlive(Int32(launcher)), "the sandbox launcher of the timed-out function still runs")
        // Both sleeps (one in the background, in its own process) are gone from the host.
        let leftovers = hostProcesses(withArguments: ["sleep", marker])
        #expect(leftovers.isEmpty, "processes of the timed-out function still run: \(leftovers)")
    }

    @Test("A warm python3 process serves many invocations; only a process's first can be a cold start")
    func warmProcesses() async throws {
        let harness = try await PipelineHarness.make()
        let name = uniqueName("warm")
        try await harness.deploy(
            try harness.writeFunction(
                """
                name: \(name)
                tenant: acme
                runtime: python3
                handler: handler.main
                max_concurrency: 2
                ordering: partition
                """,
                files: [
                    "handler.py":
                        "import uuid\nTOKEN = str(uuid.uuid4())\ndef main(event, context):\n    return TOKEN\n"
                ]))
        let (registry, follow) = try await harness.liveRegistry()
        let worker = try await harness.startWorker(registry: registry)
        _ = try await harness.publishRequests(function: name, count: 40, key: { _ in "same" }, value: { "\($0)" })
        let results = try await harness.readJSON("sluice.results", function: name) { $0.count >= 40 }
        await worker.stop()
        follow.cancel()
        // A token drawn when the process imported the handler names the process.
        var perProcess: [String: [Bool]] = [:]
        var pids: [String: Set<Double>] = [:]
        for result in results {
            #expect(result["status"] as? String == "success")
            let token = try #require(result["output"] as? String)
            pids[token, default: []].insert(try #require(result["runtime_pid"] as? Double))
            perProcess[token, default: []].append(result["cold_start"] as? Bool ?? true)
        }
        #expect(pids.values.allSatisfy { $0.count == 1 }, "one process reported two pids")
        #expect(perProcess.values.contains { $0.count > 1 }, "no process served more than one invocation")
        for (pid, colds) in perProcess {
            #expect(colds.filter { $0 }.count <= 1, "process \(pid) had several cold starts")
        }
        #expect(results.filter { $0["cold_start"] as? Bool == true }.count <= perProcess.count)
    }

    @Test("Deploying version 2 while events flow: later events run version 2, nothing restarted")
    func liveDeploy() async throws {
        let harness = try await PipelineHarness.make()
        let trigger = try await makeTestTopic("v-trigger", partitions: 2)
        let name = uniqueName("versioned")
        let manifest = """
            name: \(name)
            tenant: acme
            runtime: python3
            handler: handler.main
            event_triggers: [\(trigger)]
            """
        let path = try harness.writeFunction(
            manifest, files: ["handler.py": "def main(event, context):\n    return 'v1'\n"])
        try await harness.deploy(path)
        let (registry, follow) = try await harness.liveRegistry()
        let worker = try await harness.startWorker(registry: registry)
        let router = harness.startRouter(registry: registry, functions: [name])
        let producer = try KafkaProducer.make(ProducerConfiguration(connection: harness.connection))
        var early: Set<String> = []
        for index in 0..<20 {
            let position = try await producer.send(ProducerRecord(topic: trigger, value: Array("\(index)".utf8)))
            early.insert("\(position.partition)@\(position.offset)")
        }
        _ = try await harness.readJSON("sluice.results", function: name) { $0.count >= 20 }

        try "def main(event, context):\n    return 'v2'\n".write(
            toFile: URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("code/handler.py")
                .path, atomically: true, encoding: .utf8)
        let generation = registry.generation
        let v2 = try await harness.deploy(path)
        #expect(v2.version == 2)
        try await withDeadline(.seconds(30), "the worker's registry sees version 2") {
            while registry.function(named: name)?.version != 2 { await registry.waitForChange() }
        }
        #expect(registry.generation > generation)
        var late: Set<String> = []
        for index in 20..<40 {
            let position = try await producer.send(ProducerRecord(topic: trigger, value: Array("\(index)".utf8)))
            late.insert("\(position.partition)@\(position.offset)")
        }
        await producer.close()
        let results = try await harness.readJSON("sluice.results", function: name) { $0.count >= 40 }
        await router.stop()
        await worker.stop()
        follow.cancel()
        func position(_ result: [String: any Sendable]) -> String {
            let trigger = result["trigger"] as? [String: any Sendable] ?? [:]
            return "\(Int(trigger["partition"] as? Double ?? -1))@\(Int(trigger["offset"] as? Double ?? -1))"
        }
        let before = results.filter { early.contains(position($0)) }
        let after = results.filter { late.contains(position($0)) }
        #expect(
            before.count == 20,
            "results of events before the deploy: \(before.map { "\(position($0)) \($0["invocation_id"] ?? "?") v\($0["version"] ?? "?") \($0["worker_id"] ?? "?")" }.sorted())"
        )
        #expect(after.count == 20)
        #expect(before.allSatisfy { $0["version"] as? Double == 1 && $0["output"] as? String == "v1" })
        #expect(after.allSatisfy { $0["version"] as? Double == 2 && $0["output"] as? String == "v2" })
    }
}

/// Host processes whose command line is exactly `arguments` (read from /proc).
func hostProcesses(withArguments arguments: [String]) -> [Int32] {
    let wanted = arguments.joined(separator: "\u{0}") + "\u{0}"
    return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
        guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else {
            return nil
        }
        return String(decoding: data, as: UTF8.self) == wanted ? pid : nil
    }
}
