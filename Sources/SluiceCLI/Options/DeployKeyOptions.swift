import ArgumentParser
import Foundation
import SluiceFunctions
import SluiceSupport

/// `--trusted-key BASE64` (repeatable): public deploy keys a worker runs versions of, beside
/// `deploy.trusted_keys` in `Config/platform.yaml`.
struct TrustedKeyOptions: ParsableArguments {
    @Option(
        name: .customLong("trusted-key"),
        help: "A public deploy key (base64, as `sluice signing-key create` prints) whose versions run (repeatable).")
    var trustedKeys: [String] = []

    func validate() throws {
        if let wrong = trustedKeys.first(where: { !SigningKey.isPublicKey($0) }) {
            throw ValidationError("--trusted-key '\(wrong.prefix(80))' is not a public key (base64 of 32 bytes)")
        }
    }

    /// `--trusted-key K` for each key, to pass on to workers.
    var arguments: [String] { trustedKeys.flatMap { ["--trusted-key", $0] } }
}

extension SigningKey {
    /// The deploy key: `path`, else `$SLUICE_SIGNING_KEY`, else the project's.
    static func forDeploy(path: String?) throws -> SigningKey {
        let chosen = path ?? ProcessInfo.processInfo.environment["SLUICE_SIGNING_KEY"] ?? projectPath
        do {
            return try SigningKey.load(path: chosen)
        } catch let error as SigningKeyError {
            throw CLIError(error.message)
        }
    }
}
