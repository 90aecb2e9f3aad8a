import Foundation
import Logging
import SluiceArtifacts
import SluiceSupport

extension Worker {
    /// Marks the artifacts of every deployed version used (workers sharing the cache see the marks);
    /// when `evicting`, removes the others unused for `limits.artifact_cache_idle_s`
    /// (`ArtifactCache.evict`) and forgets resolved versions whose folders are gone (also when another
    /// worker evicted them).
    func upkeepArtifacts(evicting: Bool) async {
        let deployed = Set(
            registry.all.flatMap(\.running).flatMap { [$0.artifact?.digest, $0.dependencies?.digest] }
                .compactMap { $0 })
        let (artifacts, logger) = (self.artifacts, self.logger)
        let idle = Double(configuration.platform.artifactCacheIdleSeconds)
        await BlockingCalls.run {
            for digest in deployed { artifacts.cache.touch(digest) }
            guard evicting else { return }
            let evicted = artifacts.cache.evict(keeping: deployed, idle: idle)
            if !evicted.isEmpty { logger.info("artifacts evicted", metadata: ["digests": "\(evicted)"]) }
            artifacts.forgetMissing()
        }
    }
}
