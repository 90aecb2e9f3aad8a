import Crypto
import Foundation
import SluiceSupport

/// An Ed25519 deploy key: `sluice deploy` signs every version with one, and workers run only versions
/// signed by a key they trust (`deploy.trusted_keys` in `Config/platform.yaml`, `--trusted-key`).
public struct SigningKey: Sendable {
    let key: Curve25519.Signing.PrivateKey

    /// A new random key.
    public init() {
        key = Curve25519.Signing.PrivateKey()
    }

    /// The public key as workers list it: base64 of its 32 bytes.
    public var publicKey: String { key.publicKey.rawRepresentation.base64EncodedString() }

    /// Writes the private key (base64 of its 32 bytes and a newline) to a new file of mode 0600.
    /// - Throws: `SigningKeyError` when `path` exists or cannot be written.
    public func write(to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw SigningKeyError(message: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let text = Array((key.rawRepresentation.base64EncodedString() + "\n").utf8)
        guard Foundation.write(descriptor, text, text.count) == text.count else {
            throw SigningKeyError(message: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Reads a key file written by `write(to:)`.
    /// - Throws: `SigningKeyError` naming the file: missing, readable by others than its owner, or not a key.
    public static func load(path: String) throws -> SigningKey {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw SigningKeyError(
                message: "no signing key at \(path); make one with `sluice signing-key create --out \(path)`")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw SigningKeyError(
                message: "\(path) is readable by others (mode \(String(info.st_mode & 0o777, radix: 8))); chmod 600 it")
        }
        guard info.st_size < 4096, let text = try? String(contentsOfFile: path, encoding: .utf8),
            let raw = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)),
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        else { throw SigningKeyError(message: "\(path) is not a signing key (base64 of 32 bytes)") }
        return SigningKey(key: key)
    }

    init(key: Curve25519.Signing.PrivateKey) {
        self.key = key
    }

    /// `.run/signing-key` of the project: the key `make up` makes and trusts, and `sluice deploy`'s last default.
    public static var projectPath: String { ProjectPaths.discover().run.appendingPathComponent("signing-key").path }

    /// The key at `path`, made there first when there is none.
    public static func loadOrCreate(path: String) throws -> SigningKey {
        if !FileManager.default.fileExists(atPath: path) {
            try? FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try? SigningKey().write(to: path)
        }
        return try load(path: path)
    }

    /// Whether `text` is a public key as `publicKey` writes them.
    public static func isPublicKey(_ text: String) -> Bool {
        guard let raw = Data(base64Encoded: text) else { return false }
        return (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil
    }
}

/// A signing key that cannot be made, read or used.
public struct SigningKeyError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}

/// Who signed a version, and the signature (both base64).
public struct DeploySignature: Sendable, Hashable, Codable {
    public var key: String
    public var value: String
}

extension FunctionSpec {
    /// What a deploy signature covers: the artifact digests and the manifest fields that decide what
    /// runs and with which limits, as JSON with sorted keys.
    public var signedBytes: [UInt8] {
        let manifest = manifest
        let fields: [String: String] = [
            "sluice_deploy": "1", "name": manifest.name, "tenant": manifest.tenant,
            "runtime": manifest.runtime.rawValue, "handler": manifest.handler, "version": String(version),
            "code": artifact?.digest ?? "", "dependencies": dependencies?.digest ?? "",
            "memory_mb": String(manifest.memoryMB), "cpu_millicores": String(manifest.cpuMillicores),
            "timeout_seconds": String(manifest.timeoutSeconds), "max_concurrency": String(manifest.maxConcurrency),
            "tmp_mb": String(manifest.tmpMB), "pids_max": String(manifest.pidsMax),
            "open_files": String(manifest.openFiles), "network": manifest.network.rawValue,
            "isolation": manifest.isolation.rawValue,
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(fields)) ?? Data())
    }

    /// Signs the version as it is now (set `artifact` and `dependencies` first).
    public mutating func sign(with key: SigningKey) throws {
        let signature = try key.key.signature(for: Data(signedBytes))
        self.signature = DeploySignature(key: key.publicKey, value: signature.base64EncodedString())
    }

    /// Why a worker trusting `trusted` (public keys, base64) must not run this version; nil when it may.
    public func signatureProblem(trusted: Set<String>) -> String? {
        guard let signature, artifact != nil else {
            return "\(name) version \(version) is not signed; deploy it again with `sluice deploy`"
        }
        guard trusted.contains(signature.key) else {
            return
                "\(name) version \(version) is signed by a key this worker does not trust (\(signature.key.prefix(60)))"
        }
        guard let raw = Data(base64Encoded: signature.key),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw),
            let value = Data(base64Encoded: signature.value),
            key.isValidSignature(value, for: Data(signedBytes))
        else {
            return
                "\(name) version \(version): the signature does not match the version (its manifest or artifact changed after signing)"
        }
        return nil
    }
}
