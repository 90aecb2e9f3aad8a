import Foundation
import SluiceFunctions

/// The deploy key of the tests: harness deploys are signed with it, harness workers trust it, and
/// `sluice` commands run by `CommandRunner.sluice` find it through `SLUICE_SIGNING_KEY`.
public enum TestDeployKey {
    /// The key, written once per test process to a file of mode 0600.
    public static let key: SigningKey = {
        let key = SigningKey()
        try? key.write(to: path)
        return key
    }()

    /// The key's file (written by the first use of `key`).
    public static var file: String {
        _ = key
        return path
    }

    static let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("sluice-test-deploy-key-\(getpid())-\(UUID().uuidString.prefix(8))").path

    /// Its public key, as `--trusted-key` takes it.
    public static var publicKey: String { key.publicKey }
}
