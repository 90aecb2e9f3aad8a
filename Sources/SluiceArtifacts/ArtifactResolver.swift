import Foundation
import SluiceFunctions
import SluiceRecords
import SluiceSupport
import Synchronization

/// Turns a version read from the registry into one a worker may run: its signature is checked against
/// the trusted keys, its artifacts are fetched when the cache lacks them, checked against their digests
/// and unpacked, and its code and dependency folders become the cache's. Every version is checked once;
/// after that, resolving it is a dictionary lookup.
public final class ArtifactResolver: Sendable {
    public let cache: ArtifactCache
    private let fetches: Fetches
    private let trusted: Set<String>
    /// Verdicts per version, and the latest success per function name: the hot path finds a name and
    /// compares the version with `==` (fast for the registry's own copy) instead of hashing it whole.
    private let known = Mutex<Known>(Known())
    private struct Known {
        var verdicts: [FunctionSpec: Result<FunctionSpec, ArtifactError>] = [:]
        /// By name, the latest two (a function may run a stable version and a canary at once).
        var latest: [String: [(spec: FunctionSpec, resolved: FunctionSpec)]] = [:]
    }
    static let knownLimit = 10_000

    public init(cache: ArtifactCache, shelf: ArtifactShelf, trustedKeys: Set<String>, limit: Int) {
        self.cache = cache
        self.trusted = trustedKeys
        self.fetches = Fetches(cache: cache, shelf: shelf, limit: limit)
    }

    /// The version with its folders in the cache, or why it must not run.
    public func resolve(_ spec: FunctionSpec) async -> Result<FunctionSpec, ArtifactError> {
        if let result = known.withLock({ known -> Result<FunctionSpec, ArtifactError>? in
            if let latest = known.latest[spec.name]?.first(where: { $0.spec == spec }) {
                return .success(latest.resolved)
            }
            return known.verdicts[spec]
        }) {
            return result
        }
        let result: Result<FunctionSpec, ArtifactError>
        if let problem = spec.signatureProblem(trusted: trusted) {
            result = .failure(ArtifactError(problem))
        } else {
            do {
                var resolved = spec
                resolved.manifest.codePath = try await fetches.folder(spec.artifact!)
                if let dependencies = spec.dependencies {
                    resolved.manifest.dependenciesPath = try await fetches.folder(dependencies)
                }
                result = .success(resolved)
            } catch let error as ArtifactError {
                result = .failure(error)
            } catch {
                return .failure(ArtifactError("fetching the artifact of \(spec.name): \(error)", permanent: false))
            }
        }
        if case .failure(let error) = result, !error.permanent { return result }
        known.withLock { known in
            if known.verdicts.count >= Self.knownLimit { known.verdicts.removeAll() }
            if known.latest.count >= Self.knownLimit { known.latest.removeAll() }
            known.verdicts[spec] = result
            if case .success(let resolved) = result {
                known.latest[spec.name] = [(spec, resolved)] + (known.latest[spec.name] ?? []).prefix(1)
            }
        }
        return result
    }

    /// The version resolved, when it already was (no fetch, no check).
    public func resolved(_ spec: FunctionSpec) -> FunctionSpec? {
        guard case .success(let resolved) = known.withLock({ $0.verdicts[spec] }) else { return nil }
        return resolved
    }

    /// Forgets the versions whose folders are gone (evicted, here or by another worker sharing the cache):
    /// resolving them again fetches their artifacts again.
    public func forgetMissing() {
        let exists = { (path: String?) in path.map { FileManager.default.fileExists(atPath: $0) } ?? true }
        known.withLock { known in
            let gone = { (resolved: FunctionSpec) in
                !exists(resolved.manifest.codePath) || !exists(resolved.manifest.dependenciesPath)
            }
            known.verdicts = known.verdicts.filter { _, verdict in
                guard case .success(let resolved) = verdict else { return true }
                return !gone(resolved)
            }
            known.latest = known.latest.compactMapValues { entries in
                let kept = entries.filter { !gone($0.resolved) }
                return kept.isEmpty ? nil : kept
            }
        }
    }

    /// One fetch per digest at a time: invocations that need the same artifact wait for the first.
    private actor Fetches {
        let cache: ArtifactCache
        let shelf: ArtifactShelf
        let limit: Int
        var running: [String: Task<String, any Error>] = [:]

        init(cache: ArtifactCache, shelf: ArtifactShelf, limit: Int) {
            self.cache = cache
            self.shelf = shelf
            self.limit = limit
        }

        func folder(_ reference: ArtifactReference) async throws -> String {
            if let folder = cache.folder(for: reference.digest) { return folder }
            if let task = running[reference.digest] { return try await task.value }
            let (cache, shelf, limit) = (cache, shelf, limit)
            let task = Task {
                let bytes = try await shelf.fetch(reference, limit: limit)
                return try await BlockingCalls.run { try cache.store(bytes, digest: reference.digest, limit: limit) }
            }
            running[reference.digest] = task
            defer { running[reference.digest] = nil }
            return try await task.value
        }
    }
}
