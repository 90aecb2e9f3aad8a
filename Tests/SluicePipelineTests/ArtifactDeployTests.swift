import Foundation
import SluiceArtifacts
import SluiceFunctions
import SluiceKafka
import SluiceRecords
import SluiceRegistry
import SluiceTesting
import Testing

/// Deploys as workers see them: code only from signed artifacts fetched from Kafka, checked and unpacked
/// into the worker's own cache.
@Suite("Artifacts: signed code on Kafka, verified by workers", .timeLimit(.minutes(5)))
struct ArtifactDeployTests {
    /// Waits until the registry's version of `name` passes `done`.
    func await(_ registry: FunctionRegistry, _ name: String, _ done: @escaping @Sendable (FunctionSpec) -> Bool)
        async throws
    {
        try await withDeadline(.seconds(30), "the registry applying \(name)'s record") {
            while !(registry.function(named: name).map(done) ?? false) { await registry.waitForChange() }
        }
    }

    func freshFolder(_ prefix: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName(prefix)).path
    }

    @Test(
        "A worker with an empty cache runs a function whose code folder was deleted after the deploy; a forged code_path changes nothing"
    )
    func runsFromTheArtifact() async throws {
        let harness = try await PipelineHarness.make()
        let (registry, follow) = try await harness.liveRegistry()
        defer { follow.cancel() }
        let name = uniqueName("shipped")
        let manifest = try harness.writeFunction(
            "name: \(name)\ntenant: acme\nruntime: python3\nhandler: handler.main\n",
            files: [
                "handler.py": "import os\ndef main(event, context):\n    return {'got': event, 'cwd': os.getcwd()}\n"
            ])
        let spec = try await harness.deploy(manifest)
        try FileManager.default.removeItem(atPath: (manifest as NSString).deletingLastPathComponent)
        try await harness.forge(spec) { _, manifest in manifest["code_path"] = "/" }
        try await self.await(registry, name) { $0.manifest.codePath == "/" }

        let cache = freshFolder("cache")
        let worker = try await harness.startWorker(registry: registry, artifactCache: cache)
        _ = try await harness.publishRequests(function: name, count: 3, key: { _ in nil }, value: { "\($0)" })
        let results = try await harness.readJSON("sluice.results", function: name) { $0.count >= 3 }
        await worker.stop()
        for result in results {
            #expect(result["status"] as? String == "success", "\(result)")
            #expect((result["output"] as? [String: any Sendable])?["cwd"] as? String == "/code", "\(result)")
        }
        #expect(
            ArtifactCache(root: cache).folder(for: spec.codeHash) != nil, "the artifact was not unpacked in \(cache)")
    }

    @Test(
        "Tampering ends in a rejected dead letter naming the reason, and nothing is unpacked: an untrusted key, a changed handler under the old signature, rewritten chunks"
    )
    func tampering() async throws {
        let harness = try await PipelineHarness.make()
        let (registry, follow) = try await harness.liveRegistry()
        defer { follow.cancel() }
        let code = "def main(event, context):\n    return 'ran'\n\ndef other(event, context):\n    return 'other'\n"
        func write(_ name: String) throws -> FunctionManifest {
            try FunctionManifest.load(
                path: try harness.writeFunction(
                    "name: \(name)\ntenant: acme\nruntime: python3\nhandler: handler.main\n",
                    files: ["handler.py": code + "# \(name)\n"]))
        }
        // Signed by a key the worker does not trust.
        let untrusted = uniqueName("untrusted")
        let stranger = try await FunctionDeployer.with(connection: harness.connection, signingKey: SigningKey()) {
            try await $0.deploy(try write(untrusted))
        }
        guard case .deployed(let strangerSpec) = stranger else { throw TestSetupError("not deployed") }
        // A handler changed after signing.
        let changed = uniqueName("changed")
        let changedSpec = try await harness.deploy(
            try harness.writeFunction(
                "name: \(changed)\ntenant: acme\nruntime: python3\nhandler: handler.main\n", files: ["handler.py": code]
            ))
        try await harness.forge(changedSpec) { _, manifest in manifest["handler"] = "handler.other" }
        // Chunks rewritten: the same digest, one byte changed, and the registry record pointed at them.
        let rewritten = uniqueName("rewritten")
        let manifest = try write(rewritten)
        let rewrittenSpec = try await harness.deploy(
            try harness.writeFunction(
                "name: \(rewritten)\ntenant: acme\nruntime: python3\nhandler: handler.main\n",
                files: ["handler.py": code + "# \(rewritten)\n"]))
        var bytes = try Artifact.pack(folder: manifest.codePath, limit: 1 << 20).bytes
        bytes[bytes.count / 2] ^= 0x01
        let forged = try await TopicPublisher.withProducer(connection: harness.connection) { producer in
            try await ArtifactShelf(connection: harness.connection).publish(
                Artifact(bytes: bytes, digest: rewrittenSpec.codeHash, archiveBytes: 0), producer: producer)
        }
        try await harness.forge(rewrittenSpec) { record, _ in
            record["artifact"] = [
                "digest": forged.digest, "bytes": forged.bytes, "partition": Int(forged.partition),
                "offset": Int(forged.offset),
            ]
        }
        try await self.await(registry, untrusted) { _ in true }
        try await self.await(registry, changed) { $0.manifest.handler == "handler.other" }
        try await self.await(registry, rewritten) { $0.artifact?.offset == forged.offset }

        let cache = freshFolder("cache")
        let worker = try await harness.startWorker(registry: registry, artifactCache: cache)
        let cases = [
            (untrusted, strangerSpec, "does not trust"), (changed, changedSpec, "signature does not match"),
            (rewritten, rewrittenSpec, "tampered with"),
        ]
        for (name, _, _) in cases {
            _ = try await harness.publishRequests(function: name, count: 1, key: { _ in nil }, value: { _ in "1" })
        }
        for (name, spec, reason) in cases {
            let letters = try await harness.readRecords(harness.deadLetterTopic, function: name) { !$0.isEmpty }
            let letter = try #require(letters.first.flatMap(DeadLetter.init))
            #expect(letter.errorClass == .rejected, "\(name): \(letter.errorClass)")
            #expect(letter.error.contains(reason), "\(name): \(letter.error)")
            #expect(ArtifactCache(root: cache).folder(for: spec.codeHash) == nil, "\(name)'s code was unpacked")
        }
        await worker.stop()
    }

    @Test(
        "Two versions sharing a dependencies folder: it is published and unpacked once, and mounted at /deps; an evicted artifact is fetched again"
    )
    func sharedDependencies() async throws {
        let harness = try await PipelineHarness.make()
        let (registry, follow) = try await harness.liveRegistry()
        defer { follow.cancel() }
        let name = uniqueName("layered")
        let handler = { (version: String) in
            "import shared_lib\ndef main(event, context):\n    return shared_lib.GREETING + ' \(version)'\n"
        }
        let manifest = try harness.writeFunction(
            "name: \(name)\ntenant: acme\nruntime: python3\nhandler: handler.main\ndependencies: deps\n",
            files: ["handler.py": handler("v1")])
        let folder = (manifest as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder + "/deps", withIntermediateDirectories: true)
        try "GREETING = 'hello from deps'\n".write(
            toFile: folder + "/deps/shared_lib.py", atomically: true, encoding: .utf8)
        let first = try await harness.deploy(manifest)
        try handler("v2").write(toFile: folder + "/code/handler.py", atomically: true, encoding: .utf8)
        let second = try await harness.deploy(manifest)
        #expect(second.codeHash != first.codeHash)
        #expect(
            second.dependencies != nil && second.dependencies == first.dependencies, "the layer was published again")

        let cache = ArtifactCache(root: freshFolder("cache"))
        let resolver = ArtifactResolver(
            cache: cache, shelf: ArtifactShelf(connection: harness.connection),
            trustedKeys: [TestDeployKey.publicKey], limit: 1 << 20)
        let one = try await resolver.resolve(first).get()
        let two = try await resolver.resolve(second).get()
        #expect(cache.unpacks == 3, "two code artifacts and one dependencies artifact; got \(cache.unpacks)")
        #expect(one.manifest.dependenciesPath != nil && one.manifest.dependenciesPath == two.manifest.dependenciesPath)
        // Evicted (unused for long by any version deployed), the first version's code is fetched again.
        let (oldTimes, code) = (timespec(tv_sec: 1, tv_nsec: 0), one.manifest.codePath)
        var times = [oldTimes, oldTimes]
        #expect(utimensat(AT_FDCWD, code, &times, 0) == 0)
        #expect(cache.evict(keeping: [second.codeHash, second.dependencies!.digest], idle: 3600) == [first.codeHash])
        resolver.forgetMissing()
        let again = try await resolver.resolve(first).get()
        #expect(again.manifest.codePath == code && FileManager.default.fileExists(atPath: code + "/handler.py"))
        #expect(cache.unpacks == 4, "the evicted code was not unpacked again; unpacks: \(cache.unpacks)")
        #expect(try await resolver.resolve(second).get() == two, "a version whose folders stayed is resolved as before")

        try await self.await(registry, name) { $0.version == second.version }
        let worker = try await harness.startWorker(registry: registry, artifactCache: freshFolder("cache"))
        _ = try await harness.publishRequests(function: name, count: 1, key: { _ in nil }, value: { _ in "1" })
        let results = try await harness.readJSON("sluice.results", function: name) { !$0.isEmpty }
        await worker.stop()
        #expect(results.first?["status"] as? String == "success", "\(results)")
        #expect(results.first?["output"] as? String == "hello from deps v2", "\(results)")
    }

    @Test("A rollback: the worker answers with the earlier version again, as it was deployed")
    func rollback() async throws {
        let harness = try await PipelineHarness.make()
        let (registry, follow) = try await harness.liveRegistry()
        defer { follow.cancel() }
        let name = uniqueName("rolled")
        let manifest = try harness.writeFunction(
            "name: \(name)\ntenant: acme\nruntime: python3\nhandler: handler.main\n",
            files: ["handler.py": "def main(event, context):\n    return 'one'\n"])
        let first = try await harness.deploy(manifest)
        let code = (manifest as NSString).deletingLastPathComponent + "/code/handler.py"
        try "def main(event, context):\n    return 'two'\n".write(toFile: code, atomically: true, encoding: .utf8)
        let second = try await harness.deploy(manifest)
        try await self.await(registry, name) { $0.version == second.version }
        let worker = try await harness.startWorker(registry: registry)
        func answers() async throws -> [String] {
            let ids = try await harness.publishRequests(function: name, count: 5, key: { _ in nil }, value: { "\($0)" })
            let results = try await harness.readJSON("sluice.results", function: name) { results in
                Set(results.compactMap { $0["invocation_id"] as? String }).isSuperset(of: ids)
            }
            return results.filter { ids.contains($0["invocation_id"] as? String ?? "") }.map {
                "\($0["status"] as? String ?? "?"):\($0["output"] as? String ?? "?")"
            }
        }
        #expect(try await answers() == Array(repeating: "success:two", count: 5))
        let (from, to) = try await FunctionDeployer.with(connection: harness.connection) {
            try await $0.rollback(name: name)
        }
        #expect(from.version == second.version && to == first)
        try await self.await(registry, name) { $0.version == first.version }
        #expect(try await answers() == Array(repeating: "success:one", count: 5))
        await worker.stop()
    }

    @Test(
        "A fetch finds an artifact whose records are no longer at the reference's offset (as after compaction) by reading its partition"
    )
    func fetchAfterCompaction() async throws {
        let connection = try await TestBroker.connection()
        let folder = freshFolder("moved")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try String(repeating: "moved \(folder)\n", count: 40_000).write(
            toFile: folder + "/data.txt", atomically: true, encoding: .utf8)
        let artifact = try Artifact.pack(folder: folder, limit: 64 << 20)
        let shelf = ArtifactShelf(connection: connection)
        let published = try await TopicPublisher.withProducer(connection: connection) {
            try await shelf.publish(artifact, producer: $0)
        }
        #expect(try await shelf.fetch(published, limit: 64 << 20) == artifact.bytes)
        // Nothing of it at or after the offset any more: the partition's end.
        let ends = try await KafkaAdmin.highWatermarks(topics: [shelf.topic], connection: connection)
        var moved = published
        moved.offset = try #require(ends[TopicPartition(shelf.topic, published.partition)])
        #expect(try await shelf.fetch(moved, limit: 64 << 20) == artifact.bytes)
        // A reference whose size is not the manifest record's is refused, not fetched.
        var wrong = published
        wrong.bytes += 1
        let refusal = await #expect(throws: ArtifactError.self) { try await shelf.fetch(wrong, limit: 64 << 20) }
        #expect(refusal?.description.contains("does not match its reference") == true, "\(String(describing: refusal))")
        // A reference to a partition the topic does not have is refused at once, not waited for.
        var nowhere = published
        nowhere.partition = 99
        let started = ContinuousClock.now
        let missing = await #expect(throws: ArtifactError.self) { try await shelf.fetch(nowhere, limit: 64 << 20) }
        #expect(missing?.description.contains("names partition 99") == true, "\(String(describing: missing))")
        #expect(ContinuousClock.now - started < .seconds(25), "the fetch waited for a partition that does not exist")
    }

    @Test(
        "A canary of 30 %: each invocation runs the version its id routes to (results and outputs agree); after promote, all run the canary"
    )
    func canarySplit() async throws {
        let harness = try await PipelineHarness.make()
        let (registry, follow) = try await harness.liveRegistry()
        defer { follow.cancel() }
        let name = uniqueName("split")
        // A canary judge of another test's supervisor follows the shared registry: this canary is for
        // `sluice promote` alone (it never has enough invocations for a judge to decide).
        let manifest = try harness.writeFunction(
            "name: \(name)\ntenant: acme\nruntime: python3\nhandler: handler.main\nordering: none\n"
                + "deploy:\n  min_invocations: 1000000\n",
            files: ["handler.py": "def main(event, context):\n    return 'one'\n"])
        let first = try await harness.deploy(manifest)
        try "def main(event, context):\n    return 'two'\n".write(
            toFile: (manifest as NSString).deletingLastPathComponent + "/code/handler.py", atomically: true,
            encoding: .utf8)
        let canary = try await FunctionDeployer.with(connection: harness.connection, signingKey: TestDeployKey.key) {
            try await $0.deploy(try FunctionManifest.load(path: manifest), canary: 30)
        }
        guard case .deployed(let second) = canary else { throw TestSetupError("the canary was not deployed") }
        try await self.await(registry, name) { $0.canary?.spec.version == second.version }
        let worker = try await harness.startWorker(registry: registry)
        func run(_ count: Int) async throws -> [(id: String, version: Int, output: String)] {
            let ids = try await harness.publishRequests(
                function: name, count: count, key: { _ in nil }, value: { "\($0)" })
            let results = try await harness.readJSON("sluice.results", function: name) { results in
                Set(results.compactMap { $0["invocation_id"] as? String }).isSuperset(of: ids)
            }
            return results.filter { ids.contains($0["invocation_id"] as? String ?? "") }.map {
                (
                    $0["invocation_id"] as? String ?? "", Int($0["version"] as? Double ?? 0),
                    $0["output"] as? String ?? "?"
                )
            }
        }
        let split = try await run(200)
        for result in split {
            let expected = CanaryRoute.bucket(result.id) < 30 ? second.version : first.version
            #expect(result.version == expected, "\(result.id) ran version \(result.version), routes to \(expected)")
            #expect(result.output == (result.version == second.version ? "two" : "one"), "\(result)")
        }
        let share = split.filter { $0.version == second.version }.count
        #expect((30...90).contains(share), "the canary ran \(share) of 200")
        _ = try await FunctionDeployer.with(connection: harness.connection) { try await $0.promote(name: name) }
        try await self.await(registry, name) { $0.version == second.version && $0.canary == nil }
        #expect(try await run(20).allSatisfy { $0.version == second.version && $0.output == "two" })
        await worker.stop()
    }

    @Test(
        "A named alias runs the version it points at beside live; deploys keep it; an unknown or removed alias is a rejected dead letter naming it"
    )
    func aliases() async throws {
        let harness = try await PipelineHarness.make()
        let (registry, follow) = try await harness.liveRegistry()
        defer { follow.cancel() }
        let name = uniqueName("aliased")
        let manifest = try harness.writeFunction(
            "name: \(name)\ntenant: acme\nruntime: python3\nhandler: handler.main\nordering: none\n",
            files: ["handler.py": "def main(event, context):\n    return 'one'\n"])
        let code = (manifest as NSString).deletingLastPathComponent + "/code/handler.py"
        let first = try await harness.deploy(manifest)
        try "def main(event, context):\n    return 'two'\n".write(toFile: code, atomically: true, encoding: .utf8)
        let second = try await harness.deploy(manifest)
        _ = try await FunctionDeployer.with(connection: harness.connection) {
            try await $0.setAlias("beta", of: name, to: first.version)
        }
        try "def main(event, context):\n    return 'three'\n".write(toFile: code, atomically: true, encoding: .utf8)
        let third = try await harness.deploy(manifest)
        try await self.await(registry, name) { $0.version == third.version && $0.aliases?["beta"] != nil }
        #expect(registry.function(named: name)?.running.map(\.version) == [third.version, first.version])
        let worker = try await harness.startWorker(registry: registry)
        /// The outputs (or errors) of one request per alias (nil: live), in that order.
        func run(_ aliases: [String?]) async throws -> [String] {
            let requests = aliases.map { alias in
                var request = InvocationRequest(
                    invocationID: InvocationRequest.randomID(), function: name, trigger: "invoke", key: nil,
                    value: Array("1".utf8), traceParent: .start())
                request.alias = alias
                return request
            }
            let ids = requests.map(\.invocationID)
            try await TopicPublisher.withProducer(connection: harness.connection) { producer in
                for request in requests {
                    _ = try await producer.send(request.producerRecord(topic: harness.invocationsTopic))
                }
            }
            let results = try await harness.readJSON("sluice.results", function: name) { results in
                Set(results.compactMap { $0["invocation_id"] as? String }).isSuperset(of: ids)
            }
            return ids.map { id in
                let result = results.first { $0["invocation_id"] as? String == id }
                let succeeded = result?["status"] as? String == "success"
                return (succeeded ? result?["output"] : result?["error"]) as? String ?? "?"
            }
        }
        let answers = try await run(["beta", nil, "live", "nope"])
        #expect(answers == ["one", "three", "three", "function \(name) has no alias nope"], "\(answers)")
        _ = try await FunctionDeployer.with(connection: harness.connection) {
            try await $0.removeAlias("beta", of: name)
        }
        try await self.await(registry, name) { $0.aliases == nil }
        let removed = try await run(["beta"])
        #expect(removed == ["function \(name) has no alias beta"], "\(removed)")
        await worker.stop()
        _ = second
    }
}
