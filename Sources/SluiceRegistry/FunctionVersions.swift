import Foundation
import SluiceFunctions
import SluiceKafka
import SluiceRecords
import SluiceSupport
import Synchronization

/// The deployed versions of one function, read from the versions topic (`sluice.function-versions`,
/// compacted, key = `name@version`): each as it was deployed and signed. Records are untrusted: one
/// that does not decode, or whose name or version is not its key's, is skipped.
public struct FunctionVersions: Sendable {
    public let name: String
    /// By version, oldest first.
    public let all: [FunctionSpec]

    /// Reads the versions of `name` (the whole topic, to its end).
    /// - Throws: `KafkaError` (a missing topic names `sluice topics apply`).
    public static func load(
        name: String, connection: KafkaConnection, topic: String = PlatformTopics.standard.versions,
        timeout: Duration = .seconds(60)
    ) async throws -> FunctionVersions {
        let follower = try await TopicFollower.open(
            topic, from: TopicPartitionOffset.beginning, connection: connection, fetchWaitMaxMs: 100)
        let found = Mutex<[Int: FunctionSpec]>([:])
        let prefix = name + "@"
        do {
            try await follower.readToEnd(timeout: timeout) { record in
                guard let key = record.keyText, key.hasPrefix(prefix), let version = Int(key.dropFirst(prefix.count))
                else { return }
                guard let value = record.value, let spec = try? FunctionSpec.decode(value), spec.name == name,
                    spec.version == version
                else {
                    found.withLock { _ = $0.removeValue(forKey: version) }
                    return
                }
                found.withLock { $0[version] = spec }
            }
        } catch {
            await follower.close()
            throw error
        }
        await follower.close()
        return FunctionVersions(name: name, all: found.withLock { $0.values.sorted { $0.version < $1.version } })
    }

    /// The highest version ever deployed (0: none).
    public var highest: Int { all.last?.version ?? 0 }

    public func version(_ number: Int) -> FunctionSpec? { all.first { $0.version == number } }
}

/// The highest version ever deployed of each function, read once from the versions topic (the first
/// time a deployer needs it) and kept current by that deployer's own deploys: a deploy of many
/// manifests reads the topic once, not once per manifest.
final class HighestVersions: Sendable {
    private let highest = Mutex<[String: Int]?>(nil)

    /// The highest version of `name` (0: none).
    func of(_ name: String, connection: KafkaConnection, topic: String) async throws -> Int {
        if let known = highest.withLock({ $0 }) { return known[name] ?? 0 }
        let follower = try await TopicFollower.open(
            topic, from: TopicPartitionOffset.beginning, connection: connection, fetchWaitMaxMs: 100)
        let found = Mutex<[String: Int]>([:])
        do {
            try await follower.readToEnd(timeout: .seconds(60)) { record in
                guard let key = record.keyText, let at = key.lastIndex(of: "@"),
                    let version = Int(key[key.index(after: at)...]), (1...1_000_000_000).contains(version)
                else { return }
                let name = String(key[..<at])
                found.withLock { $0[name] = max($0[name] ?? 0, version) }
            }
        } catch {
            await follower.close()
            throw error
        }
        await follower.close()
        let all = found.withLock { $0 }
        highest.withLock { $0 = $0 ?? all }
        return highest.withLock { $0?[name] ?? 0 }
    }

    /// A version this deployer just published.
    func published(_ name: String, _ version: Int) {
        highest.withLock { known in
            if known != nil { known![name] = max(known![name] ?? 0, version) }
        }
    }
}
