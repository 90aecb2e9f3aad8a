import Foundation
import SluiceFunctions
import SluiceKafka
import SluiceRegistry

/// A python3 function deployed for a benchmark (code in a temporary folder).
enum BenchmarkFunction {
    static func deploy(
        name: String, handler: String, connection: KafkaConnection, configure: (inout FunctionManifest) -> Void
    ) async throws -> FunctionSpec {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-\(name)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try handler.write(to: folder.appendingPathComponent("handler.py"), atomically: true, encoding: .utf8)
        var manifest = FunctionManifest(
            name: name, tenant: "bench", runtime: .python3, handler: "handler.main", codePath: folder.path)
        manifest.ordering = .none
        configure(&manifest)
        let outcome = try await FunctionDeployer.with(connection: connection, signingKey: BenchmarkKey.key) {
            try await $0.deploy(manifest, force: true)
        }
        guard case .deployed(let spec) = outcome else {
            throw KafkaError(.configuration, "the benchmark function was not deployed")
        }
        return spec
    }
}
