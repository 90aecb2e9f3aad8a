import ArgumentParser
import Foundation
import SluiceFunctions

/// `sluice signing-key`.
struct SigningKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signing-key",
        abstract: "Deploy keys: every deployed version is signed, and workers run only what a trusted key signed.",
        subcommands: [SigningKeyCreateCommand.self]
    )
}

/// `sluice signing-key create`.
struct SigningKeyCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract:
            "Make an Ed25519 deploy key: the private key goes to a new file of mode 0600, the public key is printed.",
        discussion: """
            Give the public key to workers (deploy.trusted_keys in Config/platform.yaml, or `sluice worker \
            --trusted-key KEY`) and the file to `sluice deploy --signing-key PATH` (or $SLUICE_SIGNING_KEY). \
            An existing file is never overwritten.

            Example:
              sluice signing-key create --out ~/.sluice/deploy-key
            """
    )

    @Option(help: "Where to write the private key. Default: .run/signing-key of the project.") var out: String?
    @Flag(help: "Print {path, public_key}.") var json = false

    func run() async throws {
        let path = out ?? SigningKey.projectPath
        let key = SigningKey()
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        do {
            try key.write(to: path)
        } catch let error as SigningKeyError {
            throw CLIError(error.message)
        }
        if json {
            printJSON(["path": path, "public_key": key.publicKey])
        } else {
            print(key.publicKey)
            printError("private key written to \(path) (mode 0600); trust the public key above on workers")
        }
    }
}
