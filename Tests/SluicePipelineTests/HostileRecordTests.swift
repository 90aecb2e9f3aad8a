import Foundation
import SluiceKafka
import SluiceRecords
import SluiceSupport
import SluiceTesting
import Synchronization
import Testing

/// Reads `topic` from the beginning until `done` holds for the records seen whose value starts with
/// `prefix`; returns those.
func readMarked(
    _ topic: String, prefix: String, connection: KafkaConnection, timeout: Duration = .seconds(120),
    until done: @escaping @Sendable ([ConsumerRecord]) -> Bool
) async throws -> [ConsumerRecord] {
    let follower = try await TopicFollower.open(
        topic, from: TopicPartitionOffset.beginning, connection: connection, fetchWaitMaxMs: 10)
    let records = Mutex<[ConsumerRecord]>([])
    return try await withDeadline(timeout, "reading records marked \(prefix) on \(topic)") {
        await follower.forEachRecord { record in
            guard let value = record.value, value.starts(with: Array(prefix.utf8)) else { return }
            if records.withLock({ records in
                records.append(record)
                return done(records)
            }) {
                follower.finish()
            }
        }
        return records.withLock { $0 }
    }
}

/// Records no publisher should write, written anyway: each ends as a dead letter or a final result,
/// and the worker and router stay alive and keep working.
@Suite("Hostile records on the platform's topics", .timeLimit(.minutes(6)))
struct HostileRecordTests {
    @Test(
        "Poison headers (attempt -2^63, 10^30, an id with a quote, a 10 KB id, a bad function name, offsets and times past Int64) are dead-lettered as rejected; the worker process lives and runs the next request"
    )
    func poisonHeaders() async throws {
        let harness = try await PipelineHarness.make()
        let name = try await harness.deployPython("echo", code: "def main(event, context):\n    return event\n")
        let worker = try BackgroundSluice(
            ["worker"] + harness.workerArguments + ["--group", "poison-\(harness.invocationsTopic)"])
        defer { worker.stop() }
        let marker = "poison-\(UUID().uuidString.prefix(8))"
        func headers(_ changes: [String: String]) -> [KafkaHeader] {
            var fields = [
                SluiceHeader.invocationID: InvocationRequest.randomID(), SluiceHeader.function: name,
                SluiceHeader.attempt: "1",
            ]
            fields.merge(changes) { $1 }
            return fields.map { KafkaHeader(name: $0.key, string: $0.value) }
        }
        let rejected: [[String: String]] = [
            [SluiceHeader.attempt: "-9223372036854775808"],
            [SluiceHeader.attempt: "1000000000000000000000000000000"],
            [SluiceHeader.attempt: "0"],
            [SluiceHeader.invocationID: "inv_\"quote"],
            [SluiceHeader.invocationID: String(repeating: "a", count: 10_000)],
            [SluiceHeader.function: "../../etc"],
        ]
        // Out-of-range numbers the request does not need are ignored: these run.
        let tolerated: [[String: String]] = [
            [SluiceHeader.originTopic: "t", SluiceHeader.originPartition: "-1", SluiceHeader.originOffset: "1"],
            [
                SluiceHeader.originTopic: "t", SluiceHeader.originPartition: "0",
                SluiceHeader.originOffset: "9223372036854775807",
                SluiceHeader.originTimestamp: "-9223372036854775808",
            ],
            [SluiceHeader.enqueuedAt: "-9223372036854775808", SluiceHeader.triggerTimestamp: "9223372036854775807"],
        ]
        try await TopicPublisher.withProducer(connection: harness.connection) { producer in
            for (index, changes) in (rejected + tolerated).enumerated() {
                _ = try await producer.send(
                    ProducerRecord(
                        topic: harness.invocationsTopic, value: Array("\(marker)-\(index)".utf8),
                        headers: headers(changes)))
            }
        }
        let letters = try await readMarked(harness.deadLetterTopic, prefix: marker, connection: harness.connection) {
            $0.count >= rejected.count
        }
        #expect(letters.allSatisfy { text($0, SluiceHeader.errorClass) == "rejected" })
        #expect(
            Set(letters.compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } })
                == Set((0..<rejected.count).map { "\(marker)-\($0)" }))
        let results = try await harness.readJSON("sluice.results", function: name) { results in
            results.filter { ($0["output"] as? String)?.hasPrefix(marker) == true }.count >= tolerated.count
        }
        #expect(results.allSatisfy { $0["status"] as? String == "success" })
        #expect(ChildProcess.isAlive(worker.pid), "the worker died: \(worker.log.suffix(2000))")
    }

    @Test(
        "A result the producer refuses as too large (message.max.bytes 60000) is written smaller, without its value, and marked; the key's next record runs"
    )
    func resultRefusedAsTooLarge() async throws {
        let harness = try await PipelineHarness.make()
        let name = try await harness.deployPython(
            "refused", code: "def main(event, context):\n    return 'y' * 80000 if event == 'big' else 'ok'\n",
            fields: "ordering: key\n")
        let (registry, follow) = try await harness.liveRegistry()
        defer { follow.cancel() }
        // A broker (here: the worker's own producer) that takes less than the 900 KB Sluice fits records to,
        // and less than the 90 KB of the first refit: only the last form (4 KB: no value) goes through.
        let worker = try await harness.startWorker(registry: registry, clientProperties: ["message.max.bytes": "60000"])
        let ids = try await harness.publishRequests(
            function: name, count: 2, key: { _ in "same" }, value: { $0 == 0 ? "big" : "small" })
        let results = try await harness.readRecords("sluice.results", function: name) { records in
            Set(records.compactMap { text($0, SluiceHeader.invocationID) }) == Set(ids)
        }
        await worker.stop()
        let big = try #require(results.first { text($0, SluiceHeader.invocationID) == ids[0] })
        #expect(big.value == nil, "the value was kept")
        #expect(Int(text(big, RecordBudget.valueDroppedHeader) ?? "") ?? 0 > 80_000)
        #expect(text(big, SluiceHeader.status) == "success")
        let small = try #require(results.first { text($0, SluiceHeader.invocationID) == ids[1] })
        #expect(small.value.map { String(decoding: $0, as: UTF8.self) }?.contains("\"ok\"") == true)
    }

    @Test(
        "A dead letter over the record budget (900 KB) leaves out the event's value and notes its size; the partition moves on"
    )
    func deadLetterTooLarge() async throws {
        let harness = try await PipelineHarness.make()
        let name = try await harness.deployPython(
            "big", code: "def main(event, context):\n    return 'ok'\n", fields: "ordering: partition\n")
        let (registry, follow) = try await harness.liveRegistry()
        defer { follow.cancel() }
        let worker = try await harness.startWorker(registry: registry)
        // Over the platform's 256 KB event limit (so rejected) and over the 900 KB budget of a record.
        let ids = try await harness.publishRequests(
            function: name, count: 2, key: { _ in "same" },
            value: { $0 == 0 ? String(repeating: "x", count: 950_000) : "small" })
        let results = try await harness.readJSON("sluice.results", function: name) { results in
            Set(results.filter { $0["final"] as? Bool == true }.compactMap { $0["invocation_id"] as? String })
                == Set(ids)
        }
        await worker.stop()
        #expect(results.contains { $0["invocation_id"] as? String == ids[1] && $0["status"] as? String == "success" })
        let letters = try await harness.readRecords(harness.deadLetterTopic, function: name) { $0.count >= 1 }
        let letter = try #require(letters.first)
        #expect(letter.value?.count == nil, "the value was kept")
        #expect(text(letter, RecordBudget.valueDroppedHeader) == "950000")
        #expect(text(letter, SluiceHeader.errorClass) == "rejected")
    }

    @Test(
        "An event too large for an invocation request becomes a rejected dead letter with its provenance; the router routes the next event"
    )
    func routerOversizeEvent() async throws {
        let harness = try await PipelineHarness.make()
        let trigger = try await makeTestTopic("oversize-trigger", partitions: 1)
        let name = try await harness.deployPython(
            "routed", code: "def main(event, context):\n    return 'ok'\n", fields: "event_triggers: [\(trigger)]\n")
        let (registry, follow) = try await harness.liveRegistry()
        defer { follow.cancel() }
        let router = harness.startRouter(registry: registry, functions: [name])
        let worker = try await harness.startWorker(registry: registry)
        let big = try await TopicPublisher.withProducer(connection: harness.connection) { producer in
            let big = try await producer.send(
                ProducerRecord(topic: trigger, value: Array(repeating: UInt8(ascii: "x"), count: 999_000)))
            _ = try await producer.send(ProducerRecord(topic: trigger, value: Array("small".utf8)))
            return big
        }
        let results = try await harness.readJSON("sluice.results", function: name) { $0.count >= 1 }
        let letters = try await harness.readRecords(harness.deadLetterTopic, function: name) { $0.count >= 1 }
        await router.stop()
        await worker.stop()
        #expect(results.first?["status"] as? String == "success")
        let letter = try #require(letters.first)
        #expect(text(letter, SluiceHeader.errorClass) == "rejected")
        #expect(text(letter, RecordBudget.valueDroppedHeader) == "999000")
        #expect(text(letter, SluiceHeader.originTopic) == trigger)
        #expect(text(letter, SluiceHeader.originOffset) == String(big.offset))
    }

    @Test(
        "An exec function writing /dev/zero to its output, twice: each ends as a final error, and the worker process's peak RSS stays under 400 MB"
    )
    func stdoutFloodKeepsWorkerSmall() async throws {
        let harness = try await PipelineHarness.make()
        let name = uniqueName("flood")
        try await harness.deploy(
            try harness.writeFunction(
                "name: \(name)\ntenant: acme\nruntime: exec\nhandler: flood.sh\ntimeout_seconds: 120\n",
                files: ["flood.sh": "#!/bin/sh\nexec cat /dev/zero\n"]))
        let worker = try BackgroundSluice(
            ["worker"] + harness.workerArguments + ["--group", "flood-\(harness.invocationsTopic)"])
        defer { worker.stop() }
        let ids = try await harness.publishRequests(function: name, count: 2, key: { _ in nil }, value: { _ in "1" })
        let results = try await harness.readJSON("sluice.results", function: name) { results in
            Set(results.filter { $0["final"] as? Bool == true }.compactMap { $0["invocation_id"] as? String })
                == Set(ids)
        }
        #expect(results.allSatisfy { $0["status"] as? String == "error" && $0["error_class"] as? String == "error" })
        let status = try String(contentsOfFile: "/proc/\(worker.pid)/status", encoding: .utf8)
        let peakKB = try #require(
            status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }?.split(separator: " ").dropFirst().first
                .flatMap { Int($0) })
        print("worker peak RSS under the stdout flood: \(peakKB / 1024) MB")
        #expect(peakKB < 400 * 1024, "the worker's peak RSS was \(peakKB / 1024) MB")
    }

    @Test("A forged success result (written without the platform's key) does not make a worker skip the invocation")
    func forgedResult() async throws {
        let harness = try await PipelineHarness.make()
        let name = try await harness.deployPython("victim", code: "def main(event, context):\n    return 'ran'\n")
        let id = InvocationRequest.randomID()
        try await TopicPublisher.withProducer(connection: harness.connection) { producer in
            _ = try await producer.send(
                ProducerRecord(
                    topic: PlatformTopics.standard.results, key: Array(id.utf8),
                    value: Array("{\"invocation_id\":\"\(id)\",\"status\":\"success\",\"final\":true}".utf8),
                    headers: [
                        KafkaHeader(name: SluiceHeader.invocationID, string: id),
                        KafkaHeader(name: SluiceHeader.function, string: name),
                        KafkaHeader(name: SluiceHeader.status, string: "success"),
                        KafkaHeader(name: SluiceHeader.final, string: "true"),
                        KafkaHeader(name: "sluice-result-mac", string: String(repeating: "0", count: 64)),
                    ]))
        }
        let (registry, follow) = try await harness.liveRegistry()
        defer { follow.cancel() }
        let worker = try await harness.startWorker(registry: registry)
        try await TopicPublisher.withProducer(connection: harness.connection) { producer in
            let request = InvocationRequest(
                invocationID: id, function: name, trigger: "invoke", key: nil, value: Array("1".utf8),
                traceParent: .start())
            _ = try await producer.send(request.producerRecord(topic: harness.invocationsTopic))
        }
        let results = try await harness.readJSON("sluice.results", function: name) { results in
            results.contains { $0["invocation_id"] as? String == id && $0["worker_id"] as? String == "test-worker" }
        }
        await worker.stop()
        #expect(
            results.contains {
                $0["invocation_id"] as? String == id && $0["status"] as? String == "success"
                    && $0["output"] as? String == "ran"
            })
    }
}

@Suite("A rebalance moves records in retry", .timeLimit(.minutes(5)))
struct RetryRebalanceTests {
    @Test(
        "Records held in retry when their partitions move to a second worker run once: the first worker drops what it lost"
    )
    func heldRecordsRunOnce() async throws {
        let harness = try await PipelineHarness.make()
        let name = try await harness.deployPython(
            "moved", code: "def main(event, context):\n    return event\n", fields: "ordering: none\n")
        let (registry, follow) = try await harness.liveRegistry()
        defer { follow.cancel() }
        // 60 records due in 15 s on the 1 s tier (the function's longest backoff, 60 s, allows the hold).
        let dueMs = Int64(Date().timeIntervalSince1970 * 1000) + 15_000
        var ids: [String] = []
        try await TopicPublisher.withProducer(connection: harness.connection) { producer in
            for index in 0..<60 {
                let id = InvocationRequest.randomID()
                ids.append(id)
                var request = InvocationRequest(
                    invocationID: id, function: name, trigger: "invoke", key: Array("k\(index)".utf8),
                    value: Array("\(index)".utf8), traceParent: .start())
                request.attempt = 2
                var record = request.producerRecord(topic: harness.retryPrefix + "1s")
                record.headers.append(KafkaHeader(name: SluiceHeader.retryDue, string: String(dueMs)))
                _ = try await producer.send(record)
            }
        }
        let first = try await harness.startWorker(registry: registry, id: "first")
        // The first worker has joined its groups (its load samples list assigned partitions) and holds
        // the records; the second member joins now, so some partitions move to it before they are due.
        _ = try await nextLoadSample(harness.connection, timeout: .seconds(60)) { sample in
            sample.workerID == "first" && sample.group == "workers-\(harness.invocationsTopic)"
                && !sample.partitions.isEmpty
        }
        let second = try await harness.startWorker(registry: registry, id: "second")
        let wanted = Set(ids)
        let results = try await harness.readJSON("sluice.results", function: name) { results in
            wanted.isSubset(of: Set(results.compactMap { $0["invocation_id"] as? String }))
        }
        // Anything still running that would make a second result has had its chance by the time both
        // workers stopped.
        await first.stop()
        await second.stop()
        let all = try await harness.readJSON("sluice.results", function: name) { $0.count >= results.count }
        var counts: [String: Int] = [:]
        for id in all.compactMap({ $0["invocation_id"] as? String }) { counts[id, default: 0] += 1 }
        let twice = counts.filter { $0.value > 1 }
        #expect(twice.isEmpty, "\(twice.count) records in retry ran twice")
        #expect(Set(counts.keys) == wanted)
    }
}
