import Crypto
import Foundation
import SluiceRecords

/// A packed code folder: the LZ4 frame of its deterministic archive, named by the SHA-256 of those bytes.
public struct Artifact: Sendable {
    /// The LZ4 frame.
    public let bytes: [UInt8]
    /// `sha256:` and 64 lowercase hex digits.
    public let digest: String
    /// The archive's size before compression.
    public let archiveBytes: Int

    /// Packs and compresses `folder`.
    /// - Throws: `ArtifactError` naming the path (see `CodeArchive.pack`).
    public static func pack(folder: String, limit: Int) throws -> Artifact {
        let archive = try CodeArchive.pack(folder: folder, limit: limit)
        let bytes = try LZ4Frame.compress(archive)
        return Artifact(bytes: bytes, digest: digest(of: bytes), archiveBytes: archive.count)
    }

    public init(bytes: [UInt8], digest: String, archiveBytes: Int) {
        self.bytes = bytes
        self.digest = digest
        self.archiveBytes = archiveBytes
    }

    /// `sha256:<hex>` of `bytes`.
    public static func digest(of bytes: [UInt8]) -> String {
        "sha256:" + Hex.encode(SHA256.hash(data: bytes))
    }

    /// Whether `digest` is `sha256:` and 64 lowercase hex digits (safe as a folder name).
    public static func isDigest(_ digest: String) -> Bool {
        guard digest.hasPrefix("sha256:") else { return false }
        let digits = digest.utf8.dropFirst(7)
        return digits.count == 64
            && digits.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
