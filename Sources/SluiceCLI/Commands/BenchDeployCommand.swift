import ArgumentParser
import Foundation
import SluiceBench

/// `sluice bench deploy`.
struct BenchDeployCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Artifacts: LZ4 pack and unpack against the lz4 command, and deploy-to-first-success times.",
        discussion: """
            Writes a code folder of --megabytes (half text, half random bytes) and (a) packs it as `sluice \
            deploy` does (deterministic tar, LZ4 frame) and unpacks it, against `lz4 -1` and `lz4 -d` on the \
            same archive (median of 5); (b) times `deploy` of that folder to the first successful invocation \
            on a worker with an empty artifact cache; (c) the same for a new version changing one small file \
            on top of a dependencies layer of that size the worker already has; (d) `sluice rollback` to the \
            previous version answering on every one of three `sluice worker` processes, under 300 requests/s. \
            Targets: our compress within 1.5x of the lz4 command's time; (c) at most 1 s; (d) at most 2 s. Without --brokers it starts its own embedded \
            broker on a free port.

            Example:
              sluice bench deploy --json
            """)

    @Option(help: "Size of the code folder in MB.") var megabytes = 20
    @Option(help: "Kafka brokers; default: an embedded broker of its own.") var brokers: String?
    @Flag(help: "Print one JSON object of the figures.") var json = false

    func validate() throws {
        guard (1...512).contains(megabytes) else { throw ValidationError("--megabytes must be from 1 to 512") }
    }

    func run() async throws {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let report = try await BenchmarkCluster.with(brokers: brokers) { connection in
            try await DeployBenchmark(connection: connection, folderMB: megabytes, executable: executable).run {
                if !json { printError($0) }
            }
        }
        if json {
            printJSON(report.jsonObject)
        } else {
            print(report.text)
        }
    }
}
