import Foundation
import SluiceAutoscaler
import SluiceFunctions
import SluiceKafka
import SluicePipeline
import SluiceRecords
import SluiceRuntime
import SluiceSupport
import SluiceTesting
import Synchronization
import Testing

/// The text of a header, for assertions.
func text(_ record: ConsumerRecord, _ name: String) -> String? {
    record.header(name).map { String(decoding: $0, as: UTF8.self) }
}

/// Seconds since the epoch of an RFC 3339 field of a result or log object.
func seconds(_ object: [String: any Sendable], _ field: String) throws -> Double {
    let value = try #require(object[field] as? String)
    return try #require(Timestamp.parse(value)).timeIntervalSince1970
}

@Suite("Retries with backoff and dead letters", .timeLimit(.minutes(5)))
struct RetryTests {
    @Test("Failing the first two attempts, then succeeding: one success, three logged attempts, backoff respected")
    func retriedUntilSuccess() async throws {
        let harness = try await PipelineHarness.make()
        let name = uniqueName("flaky")
        try await harness.deploy(
            try harness.writeFunction(
                """
                name: \(name)
                tenant: acme
                runtime: python3
                handler: handler.main
                retry:
                  max_attempts: 4
                  backoff: exponential
                  initial_ms: 300
                  multiplier: 2
                  jitter: none
                """,
                files: [
                    "handler.py": """
                    def main(event, context):
                        if context["attempt"] < 3:
                            raise RuntimeError("attempt %d fails" % context["attempt"])
                        return {"attempt": context["attempt"]}
                    """
                ]))
        let (registry, follow) = try await harness.liveRegistry()
        let worker = try await harness.startWorker(registry: registry)
        let ids = try await harness.publishRequests(function: name, count: 1, key: { _ in "k" }, value: { _ in "go" })
        let results = try await harness.readJSON("sluice.results", function: name) {
            $0.contains { $0["status"] as? String == "success" }
        }
        let logs = try await harness.readJSON("sluice.invocation-log", function: name) { $0.count >= 3 }
        await worker.stop()
        follow.cancel()

        let successes = results.filter { $0["status"] as? String == "success" }
        #expect(successes.count == 1)
        #expect(successes.first?["invocation_id"] as? String == ids[0])
        #expect(successes.first?["attempt"] as? Double == 3)
        let failed = results.filter { $0["status"] as? String == "error" }
        #expect(failed.count == 2)
        #expect(failed.allSatisfy { $0["final"] as? Bool == false && $0["retry_at"] is String })
        let attempts = logs.sorted { ($0["attempt"] as? Double ?? 0) < ($1["attempt"] as? Double ?? 0) }
        #expect(attempts.map { $0["attempt"] as? Double } == [1, 2, 3])
        #expect(attempts.map { $0["status"] as? String } == ["error", "error", "success"])
        #expect(Set(attempts.compactMap { $0["invocation_id"] as? String }) == [ids[0]])
        // Backoff 300 ms after attempt 1, 600 ms after attempt 2 (no jitter).
        for (index, backoff) in [(0, 0.3), (1, 0.6)] {
            let gap = try seconds(attempts[index + 1], "start_time") - seconds(attempts[index], "end_time")
            #expect(
                gap >= backoff - 0.001,
                "attempt \(index + 2) started \(gap) s after attempt \(index + 1) ended; the backoff is \(backoff) s")
        }
    }

    @Test("Always failing with max_attempts 3: one dead letter with every provenance header")
    func deadLetterProvenance() async throws {
        let harness = try await PipelineHarness.make()
        let name = uniqueName("broken")
        let trigger = try await makeTestTopic("orders", partitions: 3)
        let spec = try await harness.deploy(
            try harness.writeFunction(
                """
                name: \(name)
                tenant: acme
                runtime: python3
                handler: handler.main
                event_triggers: [\(trigger)]
                retry:
                  max_attempts: 3
                  initial_ms: 50
                  jitter: none
                """,
                files: [
                    "handler.py": """
                    import sys
                    def main(event, context):
                        print("diagnostics before failing", file=sys.stderr)
                        raise ValueError("always broken")
                    """
                ]))
        let (registry, follow) = try await harness.liveRegistry()
        let worker = try await harness.startWorker(registry: registry, id: "dlq-worker")
        let router = harness.startRouter(registry: registry, functions: [name])

        let producer = try KafkaProducer.make(ProducerConfiguration(connection: harness.connection))
        let trace = TraceParent.start()
        let event = try await producer.send(
            ProducerRecord(
                topic: trigger, key: Array("order-7".utf8), value: Array("{\"id\":7}".utf8),
                headers: [trace.header, KafkaHeader(name: "x-source", string: "checkout")]))
        await producer.close()

        let letters = try await harness.readRecords(harness.deadLetterTopic, function: name) { !$0.isEmpty }
        let logs = try await harness.readJSON("sluice.invocation-log", function: name) { $0.count >= 3 }
        await router.stop()
        await worker.stop()
        follow.cancel()

        let letter = try #require(letters.first)
        #expect(letter.key == Array("order-7".utf8))
        #expect(letter.value == Array("{\"id\":7}".utf8))
        #expect(text(letter, SluiceHeader.originTopic) == trigger)
        #expect(text(letter, SluiceHeader.originPartition) == String(event.partition))
        #expect(text(letter, SluiceHeader.originOffset) == String(event.offset))
        let stored = try await readOne(
            trigger, partition: event.partition, offset: event.offset, connection: harness.connection)
        #expect(text(letter, SluiceHeader.originTimestamp) == String(stored.timestampMs))
        #expect(text(letter, SluiceHeader.function) == name)
        #expect(text(letter, DeadLetter.Header.functionVersion) == String(spec.version))
        #expect(
            text(letter, SluiceHeader.invocationID)
                == InvocationRequest.derivedID(
                    topic: trigger, partition: event.partition, offset: event.offset, function: name))
        #expect(text(letter, DeadLetter.Header.attempts) == "3")
        #expect(text(letter, SluiceHeader.errorClass) == "error")
        #expect(text(letter, SluiceHeader.error)?.contains("ValueError: always broken") == true)
        #expect(text(letter, DeadLetter.Header.stderrTail)?.contains("diagnostics before failing") == true)
        #expect(text(letter, DeadLetter.Header.worker) == "dlq-worker")
        #expect(text(letter, DeadLetter.Header.reason) == "attempts_exhausted")
        #expect(text(letter, "x-source") == "checkout")
        let first = try #require(text(letter, SluiceHeader.firstFailure).flatMap(Timestamp.parse))
        let last = try #require(text(letter, SluiceHeader.lastFailure).flatMap(Timestamp.parse))
        #expect(first < last)
        let traceparent = try #require(text(letter, TraceParent.headerName).flatMap(TraceParent.init(header:)))
        #expect(traceparent.traceID == trace.traceID)
        #expect(logs.count == 3)
        #expect(logs.allSatisfy { $0["status"] as? String == "error" })
    }

    @Test("A rejected (oversize) event and a non-retryable error are dead-lettered after one attempt")
    func deadLetteredAtOnce() async throws {
        let harness = try await PipelineHarness.make()
        let name = uniqueName("strict")
        try await harness.deploy(
            try harness.writeFunction(
                """
                name: \(name)
                tenant: acme
                runtime: python3
                handler: handler.main
                retry:
                  initial_ms: 50
                """,
                files: [
                    "handler.py": """
                    class BadInput(Exception):
                        sluice_retryable = False

                    def main(event, context):
                        if event == "bad":
                            raise BadInput("cannot use this event")
                        return "ok"
                    """
                ]))
        var platform = PlatformConfiguration.standard
        platform.maxEventBytes = 1000
        let (registry, follow) = try await harness.liveRegistry()
        let worker = try await harness.startWorker(registry: registry, platform: platform)
        let big = String(repeating: "y", count: 2000)
        let ids = try await harness.publishRequests(
            function: name, count: 3, key: { "k\($0)" }, value: { [big, "bad", "fine"][$0] })
        let letters = try await harness.readRecords(harness.deadLetterTopic, function: name) { $0.count >= 2 }
        let logs = try await harness.readJSON("sluice.invocation-log", function: name) { $0.count >= 3 }
        await worker.stop()
        follow.cancel()

        let byID = Dictionary(
            letters.map { (text($0, SluiceHeader.invocationID) ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        let oversize = try #require(byID[ids[0]])
        #expect(text(oversize, SluiceHeader.errorClass) == "rejected")
        #expect(text(oversize, DeadLetter.Header.reason) == "rejected")
        #expect(text(oversize, DeadLetter.Header.attempts) == "1")
        #expect(text(oversize, SluiceHeader.error)?.contains("limit is 1000") == true)
        #expect(oversize.value == Array(big.utf8))
        let bad = try #require(byID[ids[1]])
        #expect(text(bad, SluiceHeader.errorClass) == "error")
        #expect(text(bad, DeadLetter.Header.reason) == "not_retryable")
        #expect(text(bad, DeadLetter.Header.attempts) == "1")
        #expect(byID[ids[2]] == nil)
        // One attempt each: three log records, no second attempt of anything.
        #expect(logs.count == 3)
        #expect(logs.allSatisfy { $0["attempt"] as? Double == 1 })
        #expect(Set(logs.compactMap { $0["status"] as? String }) == ["rejected", "error", "success"])
    }

    @Test("Past max_record_age_s a failure is dead-lettered instead of retried")
    func recordTooOld() async throws {
        let harness = try await PipelineHarness.make()
        let name = uniqueName("aged")
        try await harness.deploy(
            try harness.writeFunction(
                """
                name: \(name)
                tenant: acme
                runtime: python3
                handler: handler.main
                retry:
                  max_attempts: 10
                  backoff: fixed
                  initial_ms: 1500
                  jitter: none
                  max_record_age_s: 1
                """, files: ["handler.py": "def main(event, context):\n    raise RuntimeError('nope')\n"]))
        let (registry, follow) = try await harness.liveRegistry()
        let worker = try await harness.startWorker(registry: registry)
        _ = try await harness.publishRequests(function: name, count: 1, key: { _ in nil }, value: { _ in "x" })
        let letters = try await harness.readRecords(harness.deadLetterTopic, function: name) { !$0.isEmpty }
        await worker.stop()
        follow.cancel()
        let letter = try #require(letters.first)
        #expect(text(letter, DeadLetter.Header.reason) == "record_too_old")
        // 1.5 s backoff against a 1 s age limit: at most two attempts, far from the ten allowed.
        let attempts = try #require(text(letter, DeadLetter.Header.attempts).flatMap(Int.init))
        #expect((1...2).contains(attempts))
    }
}

/// One stored record, read back at its position.
func readOne(_ topic: String, partition: Int32, offset: Int64, connection: KafkaConnection) async throws
    -> ConsumerRecord
{
    let consumer = try KafkaConsumer.make(ConsumerConfiguration(connection: connection))
    defer { Task { await consumer.close() } }
    try await consumer.assign([TopicPartitionOffset(TopicPartition(topic, partition), offset: offset)])
    return try #require(try await readRecords(consumer, count: 1).first)
}

@Suite("Ordering while a record is in retry", .timeLimit(.minutes(5)))
struct RetryOrderingTests {
    /// A function whose `first` event of key `poison` fails until a flag file appears in its code folder
    /// (the harness workers' unpacked copy, written by the test as root once the function ran; the code
    /// names the function, so no other test shares the copy).
    func deployPoisoned(_ harness: PipelineHarness, ordering: String) async throws -> (name: String, flag: URL) {
        let name = uniqueName("poison")
        let manifest = try harness.writeFunction(
            """
            name: \(name)
            tenant: acme
            runtime: python3
            handler: handler.main
            ordering: \(ordering)
            max_concurrency: 8
            retry:
              max_attempts: 100
              backoff: fixed
              initial_ms: 500
              jitter: none
            """,
            files: [
                "handler.py": """
                # \(name)
                import os
                FLAG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "flag")
                def main(event, context):
                    if event == "first" and not os.path.exists(FLAG):
                        raise RuntimeError("poisoned until the flag exists")
                    return event
                """
            ])
        let spec = try await harness.deploy(manifest)
        // The code as the harness's workers unpacked it (once they ran it): read-only to the function,
        // not to the test.
        let code = try #require(harness.artifactCache.path(for: spec.codeHash))
        return (name, URL(fileURLWithPath: code).appendingPathComponent("flag"))
    }

    /// The later record of the poison key started only after the poison record's chain ended in success.
    func expectRanAfterChainEnded(_ logs: [[String: any Sendable]], poison: String, later: String) throws {
        let firstSuccess = try #require(
            logs.first { $0["invocation_id"] as? String == poison && $0["status"] as? String == "success" })
        let second = try #require(logs.first { $0["invocation_id"] as? String == later })
        #expect(
            try seconds(second, "start_time") >= seconds(firstSuccess, "end_time"),
            "the later record ran before the poison record's chain ended")
    }

    @Test("ordering: key — a key in retry holds its later records; 1000 records of other keys all succeed meanwhile")
    func poisonKeyDoesNotStopOthers() async throws {
        let harness = try await PipelineHarness.make()
        let (name, flag) = try await deployPoisoned(harness, ordering: "key")
        let (registry, follow) = try await harness.liveRegistry()
        let worker = try await harness.startWorker(registry: registry)
        let ids = try await harness.publishRequests(
            function: name, count: 1002, key: { $0 < 2 ? "poison" : "k\($0 % 50)" },
            value: { $0 == 0 ? "first" : $0 == 1 ? "second" : "\($0)" })
        let others = Set(ids.dropFirst(2))

        let meanwhile = try await harness.readJSON("sluice.results", function: name) { results in
            others.isSubset(
                of: Set(
                    results.compactMap { $0["status"] as? String == "success" ? $0["invocation_id"] as? String : nil }))
        }
        // The poison record is still in retry, and the later record of its key has not run.
        #expect(
            !meanwhile.contains { $0["invocation_id"] as? String == ids[0] && $0["status"] as? String == "success" })
        #expect(
            meanwhile.contains {
                $0["invocation_id"] as? String == ids[0] && $0["status"] as? String == "error"
                    && $0["final"] as? Bool == false
            })
        #expect(
            !meanwhile.contains { $0["invocation_id"] as? String == ids[1] },
            "the later record of the poison key ran while the first was in retry")
        // The worker's load samples mark the poison key's partition (and only it) as held by a retry.
        let held = try await nextLoadSample(harness.connection) { sample in
            sample.group == "workers-\(harness.invocationsTopic)" && sample.partitions.contains { $0.heldByRetry }
        }
        #expect(held.partitions.filter(\.heldByRetry).count == 1)
        #expect(held.partitions.allSatisfy { $0.topic == harness.invocationsTopic })

        try Data().write(to: flag)
        let logs = try await harness.readJSON("sluice.invocation-log", function: name) { logs in
            Set(logs.filter { $0["status"] as? String == "success" }.compactMap { $0["invocation_id"] as? String })
                .isSuperset(of: ids.prefix(2))
        }
        await worker.stop()
        follow.cancel()
        try expectRanAfterChainEnded(logs, poison: ids[0], later: ids[1])
    }

    @Test("ordering: key — a worker taking the partition over holds the key in retry too, until its chain ends")
    func holdSurvivesTakeover() async throws {
        let harness = try await PipelineHarness.make()
        let (name, flag) = try await deployPoisoned(harness, ordering: "key")
        let (registry, follow) = try await harness.liveRegistry()
        defer { follow.cancel() }
        let first = try await harness.startWorker(registry: registry, id: "holding-first")
        let ids = try await harness.publishRequests(
            function: name, count: 2, key: { _ in "poison" }, value: { $0 == 0 ? "first" : "second" })
        func holding(_ worker: String) async throws {
            _ = try await nextLoadSample(harness.connection, timeout: .seconds(60)) { sample in
                sample.workerID == worker && sample.partitions.contains { $0.heldByRetry }
            }
        }
        try await holding("holding-first")
        // The first worker stops with the poison record in retry and the second record waiting behind it
        // (not committed). The next owner learns of the chain from the chain's non-final result, not from
        // memory.
        await first.stop()
        let next = try await harness.startWorker(registry: registry, id: "holding-next")
        try await holding("holding-next")
        let meanwhile = try await harness.readJSON("sluice.results", function: name) { results in
            results.contains {
                $0["invocation_id"] as? String == ids[0] && $0["worker_id"] as? String == "holding-next"
            }
        }
        #expect(
            !meanwhile.contains { $0["invocation_id"] as? String == ids[1] },
            "the later record of the poison key ran on the new owner while the first was in retry")

        try Data().write(to: flag)
        let logs = try await harness.readJSON("sluice.invocation-log", function: name) { logs in
            Set(logs.filter { $0["status"] as? String == "success" }.compactMap { $0["invocation_id"] as? String })
                .isSuperset(of: ids)
        }
        await next.stop()
        try expectRanAfterChainEnded(logs, poison: ids[0], later: ids[1])
        #expect(logs.filter { $0["invocation_id"] as? String == ids[1] }.count == 1)
    }

    @Test(
        "A chain whose retry record was lost (its owner died between result and retry) starts over when its request comes again, instead of holding its key until the chain's bound"
    )
    func lostRetryRecordStartsOver() async throws {
        let harness = try await PipelineHarness.make()
        let name = try await harness.deployPython("lost", code: "def main(event, context):\n    return event\n")
        let (registry, follow) = try await harness.liveRegistry()
        defer { follow.cancel() }
        // What a worker killed mid-publish leaves: the request uncommitted, its non-final result (with the
        // hold on key "lost") written, its retry record not; and a later record of the key behind it.
        let first = InvocationRequest(
            invocationID: InvocationRequest.randomID(), function: name, trigger: "invoke", key: Array("lost".utf8),
            value: Array("\"one\"".utf8), traceParent: .start())
        let second = InvocationRequest(
            invocationID: InvocationRequest.randomID(), function: name, trigger: "invoke", key: Array("lost".utf8),
            value: Array("\"two\"".utf8), traceParent: .start())
        try await TopicPublisher.withProducer(connection: harness.connection) { producer in
            let position = try await producer.send(first.producerRecord(topic: harness.invocationsTopic))
            var failed = ResultRecords.Finished(
                request: first, spec: nil, outcome: InvocationOutcome(status: .error, error: "killed"),
                workerID: "gone", start: Date(), end: Date())
            failed.final = false
            failed.held = KeyHold(
                topic: harness.invocationsTopic, partition: position.partition, function: name, key: "lost")
            _ = try await producer.send(
                ResultRecords.result(failed, topic: PlatformTopics.standard.results, signer: try ResultSigner.project())
            )
            _ = try await producer.send(second.producerRecord(topic: harness.invocationsTopic))
        }
        let worker = try await harness.startWorker(registry: registry, id: "starting-over")
        // The chain's bound is 151 s (default policy, 30 s timeout): well past this wait.
        let results = try await harness.readJSON("sluice.results", function: name, timeout: .seconds(60)) { results in
            Set(
                results.filter { $0["status"] as? String == "success" }.compactMap { $0["invocation_id"] as? String }
            ).isSuperset(of: [first.invocationID, second.invocationID])
        }
        await worker.stop()
        let successes = results.filter { $0["status"] as? String == "success" }
        let order = successes.compactMap { $0["invocation_id"] as? String }
        #expect(order == [first.invocationID, second.invocationID], "\(order)")
    }

    @Test("ordering: none — nothing waits for a record in retry")
    func noOrderingDoesNotWait() async throws {
        let harness = try await PipelineHarness.make()
        let (name, flag) = try await deployPoisoned(harness, ordering: "none")
        let (registry, follow) = try await harness.liveRegistry()
        let worker = try await harness.startWorker(registry: registry)
        let ids = try await harness.publishRequests(
            function: name, count: 2, key: { _ in "poison" }, value: { $0 == 0 ? "first" : "second" })
        let meanwhile = try await harness.readJSON("sluice.results", function: name) { results in
            results.contains { $0["invocation_id"] as? String == ids[1] && $0["status"] as? String == "success" }
        }
        #expect(
            !meanwhile.contains { $0["invocation_id"] as? String == ids[0] && $0["status"] as? String == "success" })
        try Data().write(to: flag)
        _ = try await harness.readJSON("sluice.results", function: name) { results in
            results.contains { $0["invocation_id"] as? String == ids[0] && $0["status"] as? String == "success" }
        }
        await worker.stop()
        follow.cancel()
    }
}

@Suite("The retry rule and the retry tiers")
struct RetryDecisionTests {
    let policy: RetryPolicy = {
        var policy = RetryPolicy.standard
        policy.maxAttempts = 3
        policy.maxRecordAgeSeconds = 60
        return policy
    }()

    @Test("Retry while attempts, class and age allow; each reason for a dead letter")
    func decisions() {
        func decide(_ errorClass: ErrorClass?, retryable: Bool = true, attempt: Int = 1, age: Int64? = 0)
            -> RetryDecision
        {
            RetryDecision.decide(
                errorClass: errorClass, retryable: retryable, attempt: attempt, policy: policy, ageMs: age, delayMs: 123
            )
        }
        #expect(decide(nil) == .succeeded)
        #expect(decide(.error) == .retry(delayMs: 123))
        #expect(decide(.timeout, attempt: 2) == .retry(delayMs: 123))
        #expect(decide(.crash, attempt: 3) == .deadLetter(.attemptsExhausted))
        #expect(decide(.error, retryable: false) == .deadLetter(.notRetryable))
        #expect(decide(.oom) == .deadLetter(.classNotRetried))
        #expect(decide(.rejected) == .deadLetter(.rejected))
        #expect(decide(.error, age: 60_000) == .deadLetter(.recordTooOld))
        #expect(decide(.error, age: nil) == .retry(delayMs: 123))
    }

    @Test("A backoff waits in the longest tier not above it; names give the delays")
    func tiers() throws {
        let tiers = try RetryTiers.discover(
            prefix: "sluice.retry.",
            topics: ["sluice.retry.10s", "sluice.retry.1s", "sluice.retry.1m", "sluice.retry.x", "other"])
        #expect(tiers.topics == ["sluice.retry.1s", "sluice.retry.10s", "sluice.retry.1m"])
        #expect(tiers.tier(forDelayMs: 200).topic == "sluice.retry.1s")
        #expect(tiers.tier(forDelayMs: 9_999).topic == "sluice.retry.1s")
        #expect(tiers.tier(forDelayMs: 10_000).topic == "sluice.retry.10s")
        #expect(tiers.tier(forDelayMs: 3_600_000).topic == "sluice.retry.1m")
        #expect(throws: (any Error).self) { try RetryTiers.discover(prefix: "sluice.retry.", topics: ["other"]) }
    }
}

/// The first load sample on sluice.scaling (from its last 500 records on) that `matches`.
func nextLoadSample(
    _ connection: KafkaConnection, timeout: Duration = .seconds(30),
    matching matches: @escaping @Sendable (LoadSample) -> Bool
)
    async throws -> LoadSample
{
    let follower = try await TopicFollower.open(
        "sluice.scaling", from: TopicPartitionOffset.tail(500), connection: connection)
    let found = Mutex<LoadSample?>(nil)
    return try await withDeadline(timeout, "a matching load sample") {
        await follower.forEachRecord { record in
            guard let value = record.value, let sample = LoadSample.decode(value), matches(sample) else { return }
            found.withLock { $0 = $0 ?? sample }
            follower.finish()
        }
        guard let sample = found.withLock({ $0 }) else { throw KafkaError(.closed, "sluice.scaling ended") }
        return sample
    }
}
