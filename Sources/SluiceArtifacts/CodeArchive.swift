import Foundation

/// A deterministic tar (POSIX ustar) of a code folder: entries sorted by path, every mtime 0, owners 0,
/// modes 0755 or 0644, so the same tree gives the same bytes on any machine. Folders, regular files and
/// symbolic links that stay inside the folder; nothing else. `__pycache__` folders are left out.
public enum CodeArchive {
    /// One entry, as packed.
    enum Entry {
        case folder(String)
        /// `source`: the file on disk, read when the archive is written (one file mapped at a time).
        case file(String, executable: Bool, source: String, size: Int)
        case link(String, target: String)

        var path: String {
            switch self {
            case .folder(let path), .file(let path, _, _, _), .link(let path, _): path
            }
        }
    }

    /// The archive of `folder`.
    /// - Throws: `ArtifactError` naming the path: a link that leaves the folder, a device file, fifo or
    ///   socket, a path over 255 bytes, or an archive over `limit` bytes.
    public static func pack(folder: String, limit: Int) throws -> [UInt8] {
        let root = URL(fileURLWithPath: folder).standardizedFileURL.path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isFolder), isFolder.boolValue else {
            throw ArtifactError("\(root) is not a folder")
        }
        var entries: [Entry] = []
        var size = 1024
        try collect(root: root, relative: "", into: &entries, size: &size, limit: limit)
        var archive: [UInt8] = []
        archive.reserveCapacity(size)
        for entry in entries.sorted(by: { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }) {
            try append(entry, to: &archive)
        }
        archive += [UInt8](repeating: 0, count: 1024)
        return archive
    }

    private static func collect(
        root: String, relative: String, into entries: inout [Entry], size: inout Int, limit: Int
    ) throws {
        let folder = relative.isEmpty ? root : root + "/" + relative
        let names = try FileManager.default.contentsOfDirectory(atPath: folder)
        for name in names where name != "__pycache__" {
            let path = relative.isEmpty ? name : relative + "/" + name
            let full = root + "/" + path
            var info = stat()
            guard lstat(full, &info) == 0 else { throw ArtifactError("\(full): \(String(cString: strerror(errno)))") }
            guard path.utf8.count <= 255 else { throw ArtifactError("\(full): the path is over 255 bytes") }
            size += 512
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                entries.append(.folder(path))
                try collect(root: root, relative: path, into: &entries, size: &size, limit: limit)
            case S_IFREG:
                size += (Int(info.st_size) + 511) / 512 * 512
                guard size <= limit else {
                    throw ArtifactError("\(full): the archive would be over \(limit) bytes (limits.max_artifact_bytes)")
                }
                entries.append(
                    .file(path, executable: info.st_mode & 0o100 != 0, source: full, size: Int(info.st_size)))
            case S_IFLNK:
                let target = try FileManager.default.destinationOfSymbolicLink(atPath: full)
                guard staysInside(link: path, target: target) else {
                    throw ArtifactError("\(full): a symbolic link that leaves the folder (to \(target))")
                }
                entries.append(.link(path, target: target))
            default:
                throw ArtifactError("\(full): a device file, fifo or socket; only folders, files and links are packed")
            }
            guard size <= limit else {
                throw ArtifactError("\(full): the archive would be over \(limit) bytes (limits.max_artifact_bytes)")
            }
        }
    }

    /// Whether a relative `target` of a link at `link` resolves inside the archive's root.
    static func staysInside(link: String, target: String) -> Bool {
        guard !target.hasPrefix("/"), !target.isEmpty, target.utf8.count <= 100, !target.contains("\0") else {
            return false
        }
        var depth = link.split(separator: "/").count - 1
        for part in target.split(separator: "/", omittingEmptySubsequences: true) {
            if part == ".." {
                depth -= 1
                if depth < 0 { return false }
            } else if part != "." {
                depth += 1
            }
        }
        return true
    }

    private static func append(_ entry: Entry, to archive: inout [UInt8]) throws {
        var header = [UInt8](repeating: 0, count: 512)
        let (name, prefix) = try split(entry.path)
        put(name, at: 0, width: 100, in: &header)
        put(prefix, at: 345, width: 155, in: &header)
        var data = Data()
        switch entry {
        case .folder:
            put(octal(0o755, digits: 7), at: 100, width: 8, in: &header)
            header[156] = UInt8(ascii: "5")
        case .file(_, let executable, let source, let size):
            put(octal(executable ? 0o755 : 0o644, digits: 7), at: 100, width: 8, in: &header)
            header[156] = UInt8(ascii: "0")
            // Mapped, then copied once, into the archive.
            data = try Data(contentsOf: URL(fileURLWithPath: source), options: .alwaysMapped)
            guard data.count == size else { throw ArtifactError("\(source): changed while packing") }
        case .link(_, let target):
            put(octal(0o777, digits: 7), at: 100, width: 8, in: &header)
            header[156] = UInt8(ascii: "2")
            put(Array(target.utf8), at: 157, width: 100, in: &header)
        }
        put(octal(0, digits: 7), at: 108, width: 8, in: &header)
        put(octal(0, digits: 7), at: 116, width: 8, in: &header)
        put(octal(data.count, digits: 11), at: 124, width: 12, in: &header)
        put(octal(0, digits: 11), at: 136, width: 12, in: &header)
        put(Array("ustar\0".utf8), at: 257, width: 6, in: &header)
        put(Array("00".utf8), at: 263, width: 2, in: &header)
        for index in 148..<156 { header[index] = UInt8(ascii: " ") }
        let sum = header.reduce(0) { $0 + Int($1) }
        put(octal(sum, digits: 6) + [0, UInt8(ascii: " ")], at: 148, width: 8, in: &header)
        archive += header
        archive.append(contentsOf: data)
        archive += [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    /// ustar's name (≤ 100 bytes) and prefix (≤ 155 bytes, split at a '/').
    private static func split(_ path: String) throws -> (name: [UInt8], prefix: [UInt8]) {
        let bytes = Array(path.utf8)
        if bytes.count <= 100 { return (bytes, []) }
        for index in bytes.indices.reversed() where bytes[index] == UInt8(ascii: "/") {
            if bytes.count - index - 1 <= 100, index <= 155, index > 0 {
                return (Array(bytes[(index + 1)...]), Array(bytes[..<index]))
            }
        }
        throw ArtifactError("\(path): the path cannot be stored in a tar header (a name over 100 bytes)")
    }

    private static func put(_ bytes: [UInt8], at offset: Int, width: Int, in header: inout [UInt8]) {
        for (index, byte) in bytes.prefix(width).enumerated() { header[offset + index] = byte }
    }

    static func octal(_ value: Int, digits: Int) -> [UInt8] {
        let text = String(value, radix: 8)
        return Array((String(repeating: "0", count: max(0, digits - text.count)) + text).utf8)
    }
}

/// An artifact that cannot be packed, shipped or unpacked, and why (naming the path or the record).
public struct ArtifactError: Error, CustomStringConvertible, Sendable {
    public let description: String
    /// Whether trying again cannot help (bytes that are not their digest's, a refused archive), as
    /// opposed to an artifact not (yet) complete on the topic.
    public let permanent: Bool
    public init(_ description: String, permanent: Bool = true) {
        self.description = description
        self.permanent = permanent
    }
}
