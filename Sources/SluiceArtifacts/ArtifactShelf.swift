import Foundation
import Logging
import Metrics
import SluiceKafka
import SluiceRecords
import SluiceSupport
import Synchronization

/// Artifacts on Kafka (`sluice.artifacts`, compacted): a manifest record keyed by the digest, then the
/// bytes in chunks of at most `chunkBytes` keyed `<digest>/<n>`, all on the partition the digest picks.
/// A worker that knows only the brokers fetches what it lacks from there.
public struct ArtifactShelf: Sendable {
    public static let chunkBytes = 512 << 10

    /// The manifest record's value.
    struct Listing: Codable {
        var digest: String
        var bytes: Int
        var chunks: Int
        var chunkBytes: Int

        enum CodingKeys: String, CodingKey {
            case digest, bytes, chunks
            case chunkBytes = "chunk_bytes"
        }
    }

    public let connection: KafkaConnection
    public let topic: String
    /// The topic's partition count, looked up by the first publish or fetch.
    private let partitionCount = PartitionCount()

    private final class PartitionCount: Sendable {
        let value = Mutex<Int?>(nil)
    }

    public init(connection: KafkaConnection, topic: String = PlatformTopics.standard.artifacts) {
        self.connection = connection
        self.topic = topic
    }

    /// Publishes `artifact` (manifest, then chunks) and returns where it is.
    /// - Throws: `KafkaError` (an unknown topic names `sluice topics apply`).
    public func publish(_ artifact: Artifact, producer: KafkaProducer) async throws -> ArtifactReference {
        let partitions = try await self.partitions()
        let partition = Int32(
            Int(artifact.digest.utf8.dropFirst(7).prefix(6).reduce(0) { $0 &* 31 &+ Int($1) }) % partitions)
        let chunks = stride(from: 0, to: artifact.bytes.count, by: Self.chunkBytes).map {
            artifact.bytes[$0..<min($0 + Self.chunkBytes, artifact.bytes.count)]
        }
        let listing = Listing(
            digest: artifact.digest, bytes: artifact.bytes.count, chunks: chunks.count, chunkBytes: Self.chunkBytes)
        var records = [
            ProducerRecord(
                topic: topic, partition: partition, key: Array(artifact.digest.utf8),
                value: Array(try JSONEncoder().encode(listing)))
        ]
        for (index, chunk) in chunks.enumerated() {
            records.append(
                ProducerRecord(
                    topic: topic, partition: partition, key: Array("\(artifact.digest)/\(index)".utf8),
                    value: Array(chunk)))
        }
        var next = records.makeIterator()
        var first: RecordPosition?
        _ = try await producer.sendAll(window: 16, next: { next.next() }, acknowledged: { first = first ?? $0 })
        guard let first else { throw ArtifactError("no record of artifact \(artifact.digest) was acknowledged") }
        return ArtifactReference(
            digest: artifact.digest, bytes: artifact.bytes.count, partition: partition, offset: first.offset)
    }

    /// The topic's partition count (looked up once).
    /// - Throws: `KafkaError` (`unknownTopic`, naming `sluice topics apply`).
    private func partitions() async throws -> Int {
        if let known = partitionCount.value.withLock({ $0 }), known > 0 { return known }
        let partitions = try await KafkaAdmin.with(connection) { try await $0.topic(topic) }?.partitions.count ?? 0
        guard partitions > 0 else {
            throw KafkaError(
                .unknownTopic,
                "the artifacts topic \(topic) does not exist on \(connection.brokerList); run `sluice topics apply`")
        }
        partitionCount.value.withLock { $0 = partitions }
        return partitions
    }

    /// The bytes `reference` points at, checked against its digest. When the manifest record is no longer
    /// at the reference's offset (compaction kept a later copy of the same digest), the partition is read
    /// from its beginning for the digest's records instead.
    /// - Throws: `ArtifactError`: a reference out of range, no manifest record for the digest, chunks
    ///   missing within `timeout`, or bytes that do not hash to the digest.
    public func fetch(_ reference: ArtifactReference, limit: Int, timeout: Duration = .seconds(30)) async throws
        -> [UInt8]
    {
        let digest = reference.digest
        guard Artifact.isDigest(digest), (1...limit).contains(reference.bytes), reference.partition >= 0,
            reference.offset >= 0
        else { throw ArtifactError("the artifact reference is out of range") }
        let partitions = try await self.partitions()
        guard reference.partition < partitions else {
            throw ArtifactError(
                "the artifact reference names partition \(reference.partition); \(topic) has \(partitions)")
        }
        var bytes = try await read(reference, from: reference.offset, timeout: timeout)
        if bytes == nil {
            bytes = try await read(reference, from: TopicPartitionOffset.beginning, timeout: timeout)
        }
        guard let bytes else {
            throw ArtifactError(
                "artifact \(digest) is not complete on \(topic) (read for \(timeout))", permanent: false)
        }
        let actual = Artifact.digest(of: bytes)
        guard actual == digest else {
            throw ArtifactError("artifact \(digest) was tampered with: its chunks hash to \(actual)")
        }
        Counter(label: "sluice_artifact_fetched_bytes_total").increment(by: bytes.count)
        return bytes
    }

    /// The digest's bytes from its records on the reference's partition from `offset`: until they are
    /// complete, or the partition's end. Nil when they are not complete there.
    private func read(_ reference: ArtifactReference, from offset: Int64, timeout: Duration) async throws -> [UInt8]? {
        var configuration = ConsumerConfiguration(connection: connection)
        configuration.reportPartitionEOF = true
        configuration.fetchWaitMaxMs = 50
        let consumer = try KafkaConsumer.make(configuration)
        return try await closing(close: consumer.close) { () async throws -> [UInt8]? in
            try await consumer.assign([TopicPartitionOffset(TopicPartition(topic, reference.partition), offset: offset)]
            )
            return try await withTimeout(timeout, onTimeout: { consumer.finishEvents() }) {
                var gathered = Gathered(reference: reference)
                for await event in consumer.events {
                    switch event {
                    case .record(let record):
                        try gathered.add(record)
                        if let bytes = gathered.bytes { return bytes }
                    case .partitionEOF: return nil
                    default: continue
                    }
                }
                return nil
            } ?? nil
        }
    }

    /// The records of one artifact as they are read: its manifest record (anywhere) and its chunks
    /// (before or after it), each chunk checked against the manifest's sizes once both are there.
    struct Gathered {
        let reference: ArtifactReference
        var listing: Listing?
        var chunks: [Int: [UInt8]] = [:]

        init(reference: ArtifactReference) { self.reference = reference }

        mutating func add(_ record: ConsumerRecord) throws {
            let digest = reference.digest
            guard let key = record.keyText, key.hasPrefix(digest), let value = record.value else { return }
            if key == digest {
                guard value.count <= 4096, let read = try? JSONDecoder().decode(Listing.self, from: Data(value)),
                    read.digest == digest, read.bytes == reference.bytes, (1...chunkBytes).contains(read.chunkBytes),
                    read.chunks == (read.bytes + read.chunkBytes - 1) / read.chunkBytes
                else { throw ArtifactError("the manifest record of artifact \(digest) does not match its reference") }
                listing = read
                chunks = chunks.filter { (0..<read.chunks).contains($0.key) && $0.value.count == size(of: $0.key) }
                return
            }
            guard key.utf8.count > digest.utf8.count + 1, key.dropFirst(digest.count).first == "/",
                let index = Int(key.dropFirst(digest.count + 1)), index >= 0,
                index <= reference.bytes / chunkBytes, value.count <= chunkBytes
            else { return }
            if listing != nil, !(index < listing!.chunks && value.count == size(of: index)) {
                throw ArtifactError(
                    "artifact \(digest) was tampered with: chunk \(index) is \(value.count) bytes, not \(size(of: index))"
                )
            }
            chunks[index] = value
        }

        /// What chunk `index` must hold by the manifest record.
        private func size(of index: Int) -> Int {
            guard let listing else { return 0 }
            return index == listing.chunks - 1 ? listing.bytes - index * listing.chunkBytes : listing.chunkBytes
        }

        /// The whole artifact, once the manifest record and all its chunks are there.
        var bytes: [UInt8]? {
            guard let listing, chunks.count == listing.chunks else { return nil }
            return (0..<listing.chunks).flatMap { chunks[$0]! }
        }
    }
}
