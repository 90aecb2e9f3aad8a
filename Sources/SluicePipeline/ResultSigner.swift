import Crypto
import Foundation
import SluiceRecords
import SluiceSupport

/// Authenticates the results workers write: an HMAC-SHA256 over invocation id, status and finality (and
/// the key hold of a non-final result) in the `sluice-result-mac` header, with a key only the platform's processes hold (`.run/results.key`,
/// made on first use, mode 0600; sandboxes see no host files). Workers trust only authenticated
/// results when deciding that an invocation already ended: anyone who can write `sluice.results` could
/// otherwise make them skip work.
public struct ResultSigner: Sendable {
    public static let header = "sluice-result-mac"
    private let key: SymmetricKey

    public init(key: SymmetricKey) {
        self.key = key
    }

    /// The project's key: read from `path`, created there (32 random bytes) when missing.
    /// - Throws: file errors (the run folder cannot be written).
    public static func project(path: URL = ProjectPaths.discover().run.appendingPathComponent("results.key")) throws
        -> ResultSigner
    {
        if let data = try? Data(contentsOf: path), data.count == 32 {
            return ResultSigner(key: SymmetricKey(data: data))
        }
        try FileManager.default.createDirectory(
            at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        let fresh = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        // Written under a unique name and linked into place: two workers starting at once agree on one key.
        let staging = path.appendingPathExtension("\(getpid())-\(UUID().uuidString)")
        guard
            FileManager.default.createFile(
                atPath: staging.path, contents: fresh, attributes: [.posixPermissions: 0o600])
        else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: staging.path]) }
        if link(staging.path, path.path) != 0 && errno != EEXIST {
            try? FileManager.default.removeItem(at: staging)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path.path])
        }
        try? FileManager.default.removeItem(at: staging)
        let data = try Data(contentsOf: path)
        return ResultSigner(key: SymmetricKey(data: data))
    }

    func mac(invocationID: String, status: String, final: Bool, held: KeyHold? = nil) -> String {
        var text = "\(invocationID)\u{0}\(status)\u{0}\(final ? "true" : "false")"
        if let held { text += "\u{0}" + held.authenticatedText }
        return HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key).withUnsafeBytes { Hex.encode($0) }
    }

    /// The header for a result (with the key hold a non-final result carries).
    func header(invocationID: String, status: String, final: Bool, held: KeyHold? = nil) -> KafkaHeader {
        KafkaHeader(
            name: Self.header, string: mac(invocationID: invocationID, status: status, final: final, held: held))
    }

    /// Whether a result record read back carries this platform's MAC for what its headers say.
    func isAuthentic(_ record: ConsumerRecord, invocationID: String) -> Bool {
        guard let given = record.header(Self.header), given.count == 64,
            let status = record.headerText(SluiceHeader.status), status.utf8.count <= 16
        else { return false }
        let final = record.header(SluiceHeader.final, is: "true")
        let held = final ? nil : KeyHold(headersOf: record)
        let expected = mac(invocationID: invocationID, status: status, final: final, held: held)
        // Compared in constant time.
        return zip(given, expected.utf8).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
