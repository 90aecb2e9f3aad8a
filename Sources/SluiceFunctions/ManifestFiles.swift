import Foundation
import SluiceSupport

/// Finds manifest files: a path that is a file is taken as it is; a folder gives its `*.yaml`/`*.yml`
/// files in name order.
public enum ManifestFiles {
    /// - Throws: `ConfigurationError` naming a path that does not exist.
    public static func find(_ paths: [String]) throws -> [String] {
        try paths.flatMap { path -> [String] in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ConfigurationError(file: path, line: 0, field: "", message: "no such file or folder")
            }
            guard isDirectory.boolValue else { return [path] }
            return try FileManager.default.contentsOfDirectory(atPath: path)
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
                .map { URL(fileURLWithPath: path).appendingPathComponent($0).path }
        }
    }
}
