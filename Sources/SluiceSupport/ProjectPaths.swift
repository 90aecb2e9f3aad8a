import Foundation

/// Where Sluice's own files are: the checkout it was built from, its fetched dependencies and run folder.
public struct ProjectPaths: Sendable {
    /// The checkout (the folder holding Package.swift), or the working directory when none is found.
    public let root: URL

    public init(root: URL) {
        self.root = root
    }

    /// Finds the checkout from `SLUICE_HOME`, else by walking up from the running executable, else from
    /// the working directory.
    public static func discover() -> ProjectPaths {
        if let home = ProcessInfo.processInfo.environment["SLUICE_HOME"], !home.isEmpty {
            return ProjectPaths(root: URL(fileURLWithPath: home))
        }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        for start in [
            executable.deletingLastPathComponent(), URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
        ] {
            var folder = start
            while folder.path != "/" {
                if FileManager.default.fileExists(atPath: folder.appendingPathComponent("Package.swift").path),
                    FileManager.default.fileExists(atPath: folder.appendingPathComponent("Topics").path)
                {
                    return ProjectPaths(root: folder)
                }
                folder = folder.deletingLastPathComponent()
            }
        }
        return ProjectPaths(root: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
    }

    /// Fetched binaries and libraries (`make deps`).
    public var deps: URL { root.appendingPathComponent(".deps") }
    /// Pid files and logs of what Sluice started.
    public var run: URL { root.appendingPathComponent(".run") }
    /// Topic definitions.
    public var topics: URL { root.appendingPathComponent("Topics") }
    /// Platform and function configuration.
    public var config: URL { root.appendingPathComponent("Config") }
}
