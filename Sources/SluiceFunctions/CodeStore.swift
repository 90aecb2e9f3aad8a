import Foundation
import SluiceSupport

/// The platform's own copies of deployed code: one folder per code hash, `<root>/<64 hex digits>`.
/// `sluice deploy` copies a function's folder here; workers run code only from here, so a registry
/// record cannot point a sandbox at a host folder.
public struct CodeStore: Sendable, Hashable {
    public let root: String

    public init(root: String) {
        self.root = root
    }

    /// `.run/code` of the project.
    public static var project: CodeStore {
        CodeStore(root: ProjectPaths.discover().run.appendingPathComponent("code").path)
    }

    /// The folder of a code hash (`sha256:` and 64 lowercase hex digits); nil for anything else.
    public func folder(for hash: String) -> String? {
        guard hash.hasPrefix("sha256:") else { return nil }
        let digits = hash.dropFirst("sha256:".count)
        guard digits.count == 64, digits.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
        return root + "/" + digits
    }

    /// Copies the regular files of `folder` (what `CodeHasher` hashes) into the store and returns the
    /// copy's hash and folder. The copy is hashed, not the original, so a file changing meanwhile
    /// cannot make them differ; it is renamed into place whole.
    /// - Throws: file system errors, naming the folder.
    public func put(_ folder: String) throws -> (hash: String, folder: String) {
        let files = FileManager.default
        try files.createDirectory(atPath: root, withIntermediateDirectories: true)
        let staging = root + "/.staging-\(UUID().uuidString)"
        defer { try? files.removeItem(atPath: staging) }
        let source = URL(fileURLWithPath: folder).standardizedFileURL
        try files.createDirectory(
            atPath: staging, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        guard let walk = files.enumerator(at: source, includingPropertiesForKeys: [.isRegularFileKey, .isDirectoryKey])
        else { throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: folder]) }
        for case let url as URL in walk {
            let relative = String(url.standardizedFileURL.path.dropFirst(source.path.count + 1))
            if relative.split(separator: "/").contains("__pycache__") { continue }
            let values = try url.resourceValues(forKeys: [.isRegularFileKey, .isDirectoryKey])
            let target = staging + "/" + relative
            if values.isDirectory == true {
                try files.createDirectory(atPath: target, withIntermediateDirectories: true)
            } else if values.isRegularFile == true {
                let executable = files.isExecutableFile(atPath: url.path)
                try files.copyItem(atPath: url.path, toPath: target)
                try files.setAttributes([.posixPermissions: executable ? 0o755 : 0o644], ofItemAtPath: target)
            }
        }
        let hash = try CodeHasher.hash(folder: staging)
        guard let final = self.folder(for: hash) else { throw CocoaError(.fileWriteUnknown) }
        if files.fileExists(atPath: final) { return (hash, final) }
        if rename(staging, final) != 0, !files.fileExists(atPath: final) {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: final])
        }
        return (hash, final)
    }
}
