import Foundation
import Metrics
import Synchronization

/// Unpacked artifacts on this host, one read-only folder per digest (`<root>/<64 hex digits>`), shared
/// by every version and function that uses the digest: a dependency layer common to many versions is
/// unpacked once. Only verified bytes are unpacked (their SHA-256 is the digest), so the folder of a
/// digest is that digest's tree.
public final class ArtifactCache: Sendable {
    public let root: String
    private let unpacked = Atomic<Int>(0)

    public init(root: String) {
        self.root = root
    }

    /// How many artifacts this cache unpacked since it was made.
    public var unpacks: Int { unpacked.load(ordering: .relaxed) }

    /// Where `digest` is (or would be) unpacked; nil for a malformed digest.
    public func path(for digest: String) -> String? {
        guard Artifact.isDigest(digest) else { return nil }
        return root + "/" + digest.dropFirst(7)
    }

    /// The folder of `digest` when it is here.
    public func folder(for digest: String) -> String? {
        guard let path = path(for: digest) else { return nil }
        var isFolder: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue ? path : nil
    }

    /// Checks that `bytes` hash to `digest`, unpacks them and returns the folder. Blocking: call off the
    /// cooperative pool.
    /// - Throws: `ArtifactError`: the bytes are not the digest's (tampered with or cut short), not an LZ4
    ///   frame, over `limit` bytes unpacked, or an archive that `CodeArchive.unpack` refuses.
    public func store(_ bytes: [UInt8], digest: String, limit: Int) throws -> String {
        guard let final = path(for: digest) else { throw ArtifactError("'\(digest.prefix(80))' is not a digest") }
        let actual = Artifact.digest(of: bytes)
        guard actual == digest else {
            throw ArtifactError("artifact \(digest) was tampered with: its bytes hash to \(actual)")
        }
        if let present = folder(for: digest) { return present }
        let archive: [UInt8]
        do {
            archive = try LZ4Frame.decompress(bytes, limit: limit)
        } catch {
            throw ArtifactError("artifact \(digest) is not a readable LZ4 frame: \(error)")
        }
        let files = FileManager.default
        try files.createDirectory(atPath: root, withIntermediateDirectories: true)
        let staging = root + "/.staging-\(UUID().uuidString)"
        try files.createDirectory(atPath: staging, withIntermediateDirectories: false)
        defer { Self.remove(staging) }
        do {
            try CodeArchive.unpack(archive, into: staging)
        } catch {
            throw ArtifactError("artifact \(digest): \(error)")
        }
        Self.seal(staging)
        if rename(staging, final) != 0, folder(for: digest) == nil {
            throw ArtifactError("\(final): \(String(cString: strerror(errno)))")
        }
        unpacked.add(1, ordering: .relaxed)
        Counter(label: "sluice_artifacts_unpacked_total").increment()
        return final
    }

    /// Marks `digest` as used now (its folder's modification time): `evict` leaves folders used within
    /// its idle time. Every worker sharing the cache marks what it runs.
    public func touch(_ digest: String) {
        guard let path = folder(for: digest) else { return }
        _ = utimensat(AT_FDCWD, path, nil, 0)
    }

    /// Removes the folder of every digest not in `keeping` whose last use (`touch`) is older than `idle`
    /// seconds, and staging folders older than that (left by a worker that died unpacking). A folder is
    /// first renamed away — atomic: a worker resolving the digest finds it or not, never half removed —
    /// then removed.
    /// - Returns: the digests removed.
    public func evict(keeping: Set<String>, idle: TimeInterval, now: Date = Date()) -> [String] {
        let files = FileManager.default
        guard let names = try? files.contentsOfDirectory(atPath: root) else { return [] }
        var removed: [String] = []
        for name in names {
            let path = root + "/" + name
            let digest = "sha256:" + name
            let isArtifact = Artifact.isDigest(digest)
            guard isArtifact || name.hasPrefix(".staging-") || name.hasPrefix(".evicted-"),
                !keeping.contains(digest),
                let modified = (try? files.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                now.timeIntervalSince(modified) > idle
            else { continue }
            let away = root + "/.evicted-\(UUID().uuidString)"
            guard rename(path, away) == 0 else { continue }
            Self.remove(away)
            if isArtifact {
                removed.append(digest)
                Counter(label: "sluice_artifacts_evicted_total").increment()
            }
        }
        return removed
    }

    /// Folders become read-only (files were written read-only).
    private static func seal(_ folder: String) {
        let walk = FileManager.default.enumerator(atPath: folder)
        var folders = [folder]
        while let relative = walk?.nextObject() as? String {
            if (walk?.fileAttributes?[.type] as? FileAttributeType) == .typeDirectory {
                folders.append(folder + "/" + relative)
            }
        }
        for path in folders { chmod(path, 0o555) }
    }

    /// Removes a staging folder that `seal` may have made read-only.
    private static func remove(_ folder: String) {
        guard FileManager.default.fileExists(atPath: folder) else { return }
        let walk = FileManager.default.enumerator(atPath: folder)
        chmod(folder, 0o755)
        while let relative = walk?.nextObject() as? String {
            if (walk?.fileAttributes?[.type] as? FileAttributeType) == .typeDirectory {
                chmod(folder + "/" + relative, 0o755)
            }
        }
        try? FileManager.default.removeItem(atPath: folder)
    }
}
