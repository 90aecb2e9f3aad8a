import Foundation
import SluiceKafka
import SluiceSupport

/// The passthrough baseline no one here wrote: Debian's `kcat -C … | kcat -P …` on the same broker and
/// records, run against the librdkafka Sluice uses (2.16, through `LD_LIBRARY_PATH`; Debian's own 2.0.2
/// cannot talk to the embedded broker). `make bench` installs kcat.
struct KcatPassthrough: Sendable {
    let connection: KafkaConnection

    static let binary = "/usr/bin/kcat"

    /// False when kcat is not installed or librdkafka 2.16 is not in `.deps/lib`.
    static func available() -> Bool {
        FileManager.default.isExecutableFile(atPath: binary) && librdkafka() != nil
    }

    /// `.deps/lib/librdkafka-<hash>.so.1`, the build's librdkafka.
    private static func librdkafka() -> URL? {
        let folder = ProjectPaths.discover().deps.appendingPathComponent("lib")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.first { $0.hasPrefix("librdkafka-") && $0.hasSuffix(".so.1") }.map {
            folder.appendingPathComponent($0)
        }
    }

    /// Records per second of `kcat -C` of `count` records of `input` piped into `kcat -P` to `output`,
    /// compressed with lz4 as Sluice's producers do; timed from the start of both to the end of the
    /// producer (which waits for every acknowledgement), so it includes kcat's own start.
    func run(from input: String, to output: String, count: Int) async throws -> Double {
        guard let library = Self.librdkafka() else { throw BenchmarkFailure("librdkafka 2.16 is not in .deps/lib") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-kcat-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createSymbolicLink(
            at: folder.appendingPathComponent("librdkafka.so.1"), withDestinationURL: library)
        // Brokers and topics reach the shell as arguments, never as script text.
        let pipeline = #""$0" -C -b "$1" -t "$2" -o beginning -e -q -c "$3" | "$0" -P -b "$1" -t "$4" -z lz4"#
        let log = folder.appendingPathComponent("kcat.log")
        let start = ContinuousClock.now
        let pid = try ChildProcess.spawn(
            "/usr/bin/env",
            [
                "LD_LIBRARY_PATH=\(folder.path)", "/bin/sh", "-c", pipeline, Self.binary, connection.brokerList, input,
                String(count), output,
            ], logFile: log, lifetime: .tiedToParent)
        let status = await ChildProcess.exitStatus(pid)
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        guard status == 0 else {
            let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            throw BenchmarkFailure("kcat passthrough exited with \(status): \(output.suffix(500))")
        }
        return Double(count) / seconds
    }
}

/// A baseline that could not be measured.
struct BenchmarkFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
