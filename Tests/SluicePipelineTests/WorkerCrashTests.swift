import Foundation
import SluiceFunctions
import SluiceKafka
import SluicePipeline
import SluiceRecords
import SluiceTesting
import Testing

@Suite("Worker processes killed with SIGKILL lose nothing", .timeLimit(.minutes(10)))
struct WorkerCrashTests {
    @Test("SIGKILL a worker while 5000 events are in flight, start another: every event succeeds exactly once")
    func sigkillWorker() async throws {
        try await HeavyLoad.exclusive { try await sigkillWorkerAlone() }
    }

    func sigkillWorkerAlone() async throws {
        let harness = try await PipelineHarness.make()
        let name = uniqueName("crashy")
        try await harness.deploy(
            try harness.writeFunction(
                """
                name: \(name)
                tenant: acme
                runtime: python3
                handler: handler.main
                max_concurrency: 8
                ordering: none
                """, files: ["handler.py": "def main(event, context):\n    return event\n"]))
        let brokers = harness.connection.brokerList
        let arguments = [
            "worker", "--brokers", brokers, "--invocations-topic", harness.invocationsTopic, "--group",
            "crash-\(harness.invocationsTopic)", "--concurrency", "8", "--trusted-key", TestDeployKey.publicKey,
        ]
        let first = try BackgroundSluice(arguments + ["--id", "first"])
        let ids = try await harness.publishRequests(
            function: name, count: 5000, key: { "k\($0 % 100)" }, value: { "\($0)" })

        // Kill it once it has produced some results but (almost certainly) not all.
        let progress = try await harness.readJSON("sluice.results", function: name) { $0.count >= 300 }
        first.killHard()
        #expect(progress.count < 5000, "the first worker finished everything before it was killed")

        let second = try BackgroundSluice(arguments + ["--id", "second"])
        let results = try await harness.readJSON("sluice.results", function: name, timeout: .seconds(200)) { results in
            Set(results.compactMap { $0["status"] as? String == "success" ? $0["invocation_id"] as? String : nil })
                .count >= 5000
        }
        second.stop()

        let successes = results.filter { $0["status"] as? String == "success" }.compactMap {
            $0["invocation_id"] as? String
        }
        #expect(Set(successes) == Set(ids), "some events have no success result")
        var counts: [String: Int] = [:]
        for id in successes { counts[id, default: 0] += 1 }
        let doubled = counts.filter { $0.value > 1 }
        #expect(
            doubled.isEmpty,
            "\(doubled.count) invocations have two success results, e.g. \(doubled.first.map { $0.key } ?? "")")
        #expect(Set(results.compactMap { $0["worker_id"] as? String }) == ["first", "second"])
    }

    @Test(
        "SIGKILL worker and retry consumer three times while 3000 records with 10% failures flow: each ends as one success or one dead letter"
    )
    func sigkillDuringRetries() async throws {
        try await HeavyLoad.exclusive { try await sigkillDuringRetriesAlone() }
    }

    func sigkillDuringRetriesAlone() async throws {
        let harness = try await PipelineHarness.make()
        let name = uniqueName("crashy-retry")
        try await harness.deploy(
            try harness.writeFunction(
                """
                name: \(name)
                tenant: acme
                runtime: python3
                handler: handler.main
                max_concurrency: 8
                retry:
                  max_attempts: 2
                  backoff: fixed
                  initial_ms: 200
                  jitter: none
                """,
                files: [
                    "handler.py":
                        "def main(event, context):\n    if event % 10 == 0:\n        raise RuntimeError('ten percent fail')\n    return event\n"
                ]))
        let arguments =
            ["worker"] + harness.workerArguments + [
                "--group", "crash-\(harness.invocationsTopic)", "--concurrency", "8",
            ]
        var worker = try BackgroundSluice(arguments + ["--id", "w1"])
        let ids = try await harness.publishRequests(
            function: name, count: 3000, key: { "k\($0 % 97)" }, value: { "\($0)" })
        let failing = Set(ids.enumerated().filter { $0.offset % 10 == 0 }.map(\.element))
        let passing = Set(ids).subtracting(failing)

        // Kill it (and its retry consumer with it) at three points of progress, starting a new one each time.
        for (round, threshold) in [400, 1200, 2000].enumerated() {
            let progress = try await harness.readJSON("sluice.results", function: name) { $0.count >= threshold }
            worker.killHard()
            // 3000 first attempts and 300 second ones: the kill must come before the end.
            #expect(progress.count < 3300, "worker \(round + 1) finished everything before it was killed")
            worker = try BackgroundSluice(arguments + ["--id", "w\(round + 2)"])
        }
        let results = try await harness.readJSON("sluice.results", function: name, timeout: .seconds(200)) { results in
            passing.isSubset(
                of: Set(
                    results.compactMap { $0["status"] as? String == "success" ? $0["invocation_id"] as? String : nil }))
        }
        let letters = try await harness.readRecords(harness.deadLetterTopic, function: name, timeout: .seconds(200)) {
            letters in
            failing.isSubset(of: Set(letters.compactMap { text($0, SluiceHeader.invocationID) }))
        }
        worker.stop()

        let succeeded = Set(
            results.compactMap { $0["status"] as? String == "success" ? $0["invocation_id"] as? String : nil })
        let deadLettered = Set(letters.compactMap { text($0, SluiceHeader.invocationID) })
        #expect(succeeded == passing, "\(passing.subtracting(succeeded).count) passing records have no success")
        #expect(
            deadLettered == failing, "\(failing.subtracting(deadLettered).count) failing records have no dead letter")
        #expect(succeeded.isDisjoint(with: deadLettered), "some records both succeeded and were dead-lettered")
        // Every dead letter is one of the failing records after its attempts (under heavy load an attempt
        // can also end as timeout or crash before the function's own error).
        let unexpected = letters.filter {
            !["error", "timeout", "crash"].contains(text($0, SluiceHeader.errorClass) ?? "")
        }
        #expect(
            unexpected.isEmpty,
            "dead letters of an unexpected class: \(unexpected.map { text($0, SluiceHeader.errorClass) ?? "?" })")
    }
}
