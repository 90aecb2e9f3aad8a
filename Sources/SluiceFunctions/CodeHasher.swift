import Crypto
import Foundation
import SluiceRecords
import SluiceSupport

/// SHA-256 over a code folder: every regular file's relative path and bytes, in path order.
public enum CodeHasher {
    public static func hash(folder: String) throws -> String {
        let root = URL(fileURLWithPath: folder).standardizedFileURL
        guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        else {
            throw CocoaError(.fileReadNoSuchFile)
        }
        var files: [String] = []
        for case let url as URL in enumerator {
            let relative = String(url.standardizedFileURL.path.dropFirst(root.path.count + 1))
            if relative.split(separator: "/").contains("__pycache__") { continue }
            if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true { files.append(relative) }
        }
        var hasher = SHA256()
        for relative in files.sorted() {
            hasher.update(data: Data(relative.utf8) + [0])
            hasher.update(data: try Data(contentsOf: root.appendingPathComponent(relative)))
            hasher.update(data: [0])
        }
        return "sha256:" + Hex.encode(hasher.finalize())
    }
}
