import Foundation
import Logging
import SluiceArtifacts
import SluiceFunctions
import SluiceKafka
import SluicePipeline
import SluiceRecords
import SluiceRegistry
import SluiceSupport

/// `sluice bench deploy`: (a) a 20 MB code folder packed (deterministic tar + LZ4) and unpacked, against
/// `lz4` the command on the same archive; (b) from `deploy` of that folder to the first successful
/// invocation on a worker with an empty cache; (c) from `deploy` of a new version that changes one small
/// file, on top of a 20 MB dependencies layer the worker already has, to its first success; (d) from
/// `rollback` to the previous version answering on every one of three worker processes.
public struct DeployBenchmark: Sendable {
    public struct Report: Sendable {
        public var archiveMB: Double
        /// Archive and compress of the folder, and compress alone, in MB (of archive) per second.
        public var packMBps: Double
        public var compressMBps: Double
        public var lz4CompressMBps: Double
        public var decompressMBps: Double
        public var lz4DecompressMBps: Double
        /// `deploy` → first success, seconds: a new 20 MB function on a cold worker; a new version of a
        /// function whose dependencies layer is cached.
        public var coldLiveSeconds: Double
        public var layeredLiveSeconds: Double
        /// `rollback` → first answer of the previous version on each of three worker processes (seconds,
        /// by worker; target ≤ 2 s on every one).
        public var rollbackSeconds: [String: Double]
        /// Time of our compress over `lz4`'s (target ≤ 1.5).
        public var compressRatio: Double { lz4CompressMBps / compressMBps }
    }

    let connection: KafkaConnection
    let folderMB: Int
    /// The `sluice` executable the rollback measurement runs its worker processes with.
    let executable: String
    let logger = Logger(label: "sluice.bench")

    public init(connection: KafkaConnection, folderMB: Int = 20, executable: String) {
        self.connection = connection
        self.folderMB = folderMB
        self.executable = executable
    }

    public func run(progress: @Sendable (String) -> Void) async throws -> Report {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-bench-deploy-\(getpid())")
        defer { try? FileManager.default.removeItem(at: work) }
        let bulk = work.appendingPathComponent("bulk").path
        try Self.writeBulk(folder: bulk, megabytes: folderMB)
        progress("(a) packing a \(folderMB) MB folder, and lz4 on the same archive, median of 5…")
        let formats = try await measureFormats(bulk, work: work)

        let tag = String(UInt64.random(in: 0..<UInt64.max), radix: 36)
        let invocations = "bench.\(tag).invocations"
        _ = try await KafkaAdmin.with(connection) {
            try await $0.createTopics([NewTopic(name: invocations, partitions: 1)])
        }
        let pipeline = try await BenchmarkPipeline(connection: connection, invocations: invocations, logger: logger)
        do {
            let (coldLive, layeredLive) = try await measureLive(
                pipeline, work: work, bulk: bulk, tag: tag, progress: progress)
            await pipeline.stop()
            let rollback = try await RollbackBenchmark(connection: connection, executable: executable, logger: logger)
                .run(tag: tag, progress: progress)
            return Report(
                archiveMB: formats.archiveMB, packMBps: formats.pack, compressMBps: formats.compress,
                lz4CompressMBps: formats.lz4Compress, decompressMBps: formats.decompress,
                lz4DecompressMBps: formats.lz4Decompress, coldLiveSeconds: coldLive, layeredLiveSeconds: layeredLive,
                rollbackSeconds: rollback)
        } catch {
            await pipeline.stop()
            throw error
        }
    }

    /// (b) and (c) on a worker of `pipeline` with an empty cache.
    private func measureLive(
        _ pipeline: BenchmarkPipeline, work: URL, bulk: String, tag: String, progress: @Sendable (String) -> Void
    ) async throws -> (cold: Double, layered: Double) {
        try await pipeline.startWorker(
            id: "bench-deploy", groupID: "bench-\(tag)", processes: 1,
            artifactCache: work.appendingPathComponent("cache").path)
        var invoker = Invoker(connection: connection)
        invoker.topics.invocations = pipeline.invocations

        // The worker is in its group and the python runtime warm before anything is timed.
        let warmUp = work.appendingPathComponent("warm-up").path
        _ = try await live(
            try Self.function(work, name: "bench-warm-up-\(tag)", code: warmUp, dependencies: nil, marker: "warm"),
            marker: "warm", invoker: invoker)
        progress("(b) deploy of the \(folderMB) MB folder → first success on a worker without it…")
        let cold = try Self.function(work, name: "bench-deploy-\(tag)", code: bulk, dependencies: nil, marker: "cold")
        let coldLive = try await live(cold, marker: "cold", invoker: invoker)

        progress("(c) a new version changing one file on a cached \(folderMB) MB dependencies layer → first success…")
        let small = work.appendingPathComponent("small").path
        let layered = try Self.function(
            work, name: "bench-layered-\(tag)", code: small, dependencies: bulk, marker: "v1")
        _ = try await live(layered, marker: "v1", invoker: invoker)
        let next = try Self.function(work, name: layered.name, code: small, dependencies: bulk, marker: "v2")
        return (coldLive, try await live(next, marker: "v2", invoker: invoker))
    }

    /// Seconds from the deploy of `manifest` to its first successful invocation that answers `marker`.
    private func live(_ manifest: FunctionManifest, marker: String, invoker: Invoker) async throws -> Double {
        let start = ContinuousClock.now
        _ = try await FunctionDeployer.with(connection: connection, signingKey: BenchmarkKey.key) {
            try await $0.deploy(manifest, force: true)
        }
        return try await answered(manifest.name, marker, since: start, invoker: invoker)
    }

    /// Seconds since `start` when `name` answers `marker`, invoked until it does: a worker that has not
    /// seen the change yet answers with the version before it.
    private func answered(_ name: String, _ marker: String, since start: ContinuousClock.Instant, invoker: Invoker)
        async throws -> Double
    {
        while true {
            let result = try await invoker.invoke(name, event: Array("1".utf8), key: nil, wait: .seconds(120))
            guard let result, result.succeeded else {
                throw KafkaError(
                    .timedOut, "\(name) did not succeed after its deploy: \(result?.error ?? "no result in 120 s")")
            }
            if String(decoding: result.output, as: UTF8.self) == "\"\(marker)\"" {
                return (ContinuousClock.now - start).inSeconds
            }
            guard ContinuousClock.now - start < .seconds(120) else {
                throw KafkaError(.timedOut, "\(name) still answered as before 120 s after the change")
            }
        }
    }

    private struct Formats {
        var archiveMB, pack, compress, lz4Compress, decompress, lz4Decompress: Double
    }

    private func measureFormats(_ folder: String, work: URL) async throws -> Formats {
        let archive = try CodeArchive.pack(folder: folder, limit: 1 << 30)
        let megabytes = Double(archive.count) / 1e6
        let archiveFile = work.appendingPathComponent("bulk.tar").path
        let frameFile = archiveFile + ".lz4"
        try Data(archive).write(to: URL(fileURLWithPath: archiveFile))
        let frame = try LZ4Frame.compress(archive)
        try Data(frame).write(to: URL(fileURLWithPath: frameFile))
        func best(_ body: @escaping @Sendable () throws -> Void) async throws -> Double {
            megabytes / (try await SandboxBenchmark.time(5, body).p50 / 1000)
        }
        let lz4 = "/usr/bin/lz4"
        guard FileManager.default.isExecutableFile(atPath: lz4) else {
            throw KafkaError(.configuration, "\(lz4) is missing (Debian's lz4 package; `make deps` installs it)")
        }
        return Formats(
            archiveMB: megabytes,
            pack: try await best { _ = try LZ4Frame.compress(try CodeArchive.pack(folder: folder, limit: 1 << 30)) },
            compress: try await best { _ = try LZ4Frame.compress(archive) },
            lz4Compress: try await best {
                try SandboxBenchmark.spawnAndWait(lz4, ["-1", "-B7", "-BI", "-c", "-q", archiveFile])
            },
            decompress: try await best { _ = try LZ4Frame.decompress(frame, limit: 1 << 30) },
            lz4Decompress: try await best { try SandboxBenchmark.spawnAndWait(lz4, ["-d", "-c", "-q", frameFile]) })
    }

    /// A manifest of a python3 function whose code is `code` plus a handler naming `marker`.
    private static func function(_ work: URL, name: String, code: String, dependencies: String?, marker: String) throws
        -> FunctionManifest
    {
        try FileManager.default.createDirectory(atPath: code, withIntermediateDirectories: true)
        try "def main(event, context):\n    return '\(marker)'\n".write(
            toFile: code + "/bench_handler.py", atomically: true, encoding: .utf8)
        var manifest = FunctionManifest(
            name: name, tenant: "bench", runtime: .python3, handler: "bench_handler.main", codePath: code)
        manifest.dependenciesPath = dependencies
        return manifest
    }

    /// `megabytes` of files, 512 KiB each: half python-like text, half random bytes (as wheels and
    /// data files are), so that compression has both to do.
    static func writeBulk(folder: String, megabytes: Int) throws {
        try FileManager.default.createDirectory(atPath: folder + "/lib", withIntermediateDirectories: true)
        var generator = SystemRandomNumberGenerator()
        for index in 0..<(megabytes * 2) {
            var bytes = [UInt8](repeating: 0, count: 512 << 10)
            if index % 2 == 0 {
                let line = Array("    value_\(index) = compute(\(index), key='k\(index)')  # generated\n".utf8)
                for offset in bytes.indices { bytes[offset] = line[offset % line.count] }
                for _ in 0..<2048 { bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8(ascii: "7") }
            } else {
                for offset in stride(from: 0, to: bytes.count, by: 8) {
                    withUnsafeBytes(of: generator.next() as UInt64) { random in
                        for byte in 0..<8 { bytes[offset + byte] = random[byte] }
                    }
                }
            }
            try Data(bytes).write(to: URL(fileURLWithPath: folder + "/lib/part_\(index).dat"))
        }
    }
}
