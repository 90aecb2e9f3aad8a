/// Where a function version's artifact is on the artifacts topic (`sluice.artifacts`), as the registry
/// record says. Untrusted like every record: a worker fetches from there and keeps the bytes only when
/// they hash to `digest`.
public struct ArtifactReference: Sendable, Hashable, Codable {
    /// `sha256:` and 64 lowercase hex digits: the SHA-256 of the LZ4 frame.
    public var digest: String
    /// The LZ4 frame's size.
    public var bytes: Int
    /// The partition and offset of the artifact's manifest record (its chunks follow it).
    public var partition: Int32
    public var offset: Int64

    public init(digest: String, bytes: Int, partition: Int32, offset: Int64) {
        self.digest = digest
        self.bytes = bytes
        self.partition = partition
        self.offset = offset
    }
}
