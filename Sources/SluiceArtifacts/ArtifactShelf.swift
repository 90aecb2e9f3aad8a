import Foundation
import Logging
import SluiceKafka
import SluiceRecords
import SluiceSupport

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

    public init(connection: KafkaConnection, topic: String = PlatformTopics.standard.artifacts) {
        self.connection = connection
        self.topic = topic
    }

    /// Publishes `artifact` (manifest, then chunks) and returns where it is.
    /// - Throws: `KafkaError` (an unknown topic names `sluice topics apply`).
    public func publish(_ artifact: Artifact, producer: KafkaProducer) async throws -> ArtifactReference {
        let partitions = try await KafkaAdmin.with(connection) { try await $0.topic(topic) }?.partitions.count ?? 0
        guard partitions > 0 else {
            throw KafkaError(
                .unknownTopic,
                "the artifacts topic \(topic) does not exist on \(connection.brokerList); run `sluice topics apply`")
        }
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

    /// The bytes `reference` points at, checked against its digest.
    /// - Throws: `ArtifactError`: a reference out of range, no manifest record for the digest at its
    ///   offset, chunks missing within `timeout`, or bytes that do not hash to the digest.
    public func fetch(_ reference: ArtifactReference, limit: Int, timeout: Duration = .seconds(30)) async throws
        -> [UInt8]
    {
        let digest = reference.digest
        guard Artifact.isDigest(digest), (1...limit).contains(reference.bytes), reference.partition >= 0,
            reference.offset >= 0
        else { throw ArtifactError("the artifact reference is out of range") }
        var configuration = ConsumerConfiguration(connection: connection)
        configuration.reportPartitionEOF = true
        configuration.fetchWaitMaxMs = 50
        let consumer = try KafkaConsumer.make(configuration)
        let bytes = try await closing(close: consumer.close) { () async throws -> [UInt8]? in
            await consumer.learnLeaders(of: [topic])
            try consumer.assign([
                TopicPartitionOffset(TopicPartition(topic, reference.partition), offset: reference.offset)
            ])
            return try await withTimeout(timeout, onTimeout: { consumer.finishEvents() }) {
                try await Self.collect(consumer.events, reference: reference)
            } ?? nil
        }
        guard let bytes else {
            throw ArtifactError(
                "artifact \(digest) is not complete on \(topic) (read for \(timeout))", permanent: false)
        }
        let actual = Artifact.digest(of: bytes)
        guard actual == digest else {
            throw ArtifactError("artifact \(digest) was tampered with: its chunks hash to \(actual)")
        }
        return bytes
    }

    /// Reads the manifest record at the reference's offset, then its chunks; nil at the partition's end
    /// before they are all there.
    private static func collect(_ events: ConsumerEvents, reference: ArtifactReference) async throws -> [UInt8]? {
        var listing: Listing?
        var chunks: [Int: [UInt8]] = [:]
        for await event in events {
            guard case .record(let record) = event else {
                if case .partitionEOF = event { return nil }
                continue
            }
            if listing == nil {
                guard record.offset == reference.offset, record.key == Array(reference.digest.utf8),
                    let value = record.value, value.count <= 4096,
                    let read = try? JSONDecoder().decode(Listing.self, from: Data(value)),
                    read.digest == reference.digest, read.bytes == reference.bytes,
                    (1...chunkBytes).contains(read.chunkBytes),
                    read.chunks == (read.bytes + read.chunkBytes - 1) / read.chunkBytes
                else {
                    throw ArtifactError(
                        "no manifest record of artifact \(reference.digest) at \(reference.partition)@\(reference.offset)"
                    )
                }
                listing = read
                continue
            }
            guard let listing, let key = record.keyText, key.hasPrefix(reference.digest + "/"),
                let index = Int(key.dropFirst(reference.digest.count + 1)), (0..<listing.chunks).contains(index),
                chunks[index] == nil, let value = record.value
            else { continue }
            let expected = index == listing.chunks - 1 ? listing.bytes - index * listing.chunkBytes : listing.chunkBytes
            guard value.count == expected else {
                throw ArtifactError(
                    "artifact \(reference.digest) was tampered with: chunk \(index) is \(value.count) bytes, not \(expected)"
                )
            }
            chunks[index] = value
            if chunks.count == listing.chunks {
                return (0..<listing.chunks).flatMap { chunks[$0]! }
            }
        }
        return nil
    }
}
