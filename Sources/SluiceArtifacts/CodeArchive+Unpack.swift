import Foundation

extension CodeArchive {
    /// Most entries an archive may hold.
    static let maxEntries = 100_000

    /// Writes the entries of `archive` under `folder` (which must exist and be empty). The archive is
    /// untrusted: absolute paths, `..`, links that leave the folder, anything written through a link,
    /// other entry types, bad checksums and sizes past the end are refused.
    /// - Returns: the number of files written.
    /// - Throws: `ArtifactError` naming the entry.
    @discardableResult
    public static func unpack(_ archive: [UInt8], into folder: String) throws -> Int {
        var offset = 0
        var links: Set<String> = []
        var files = 0
        var entries = 0
        while offset + 512 <= archive.count {
            let header = archive[offset..<(offset + 512)]
            if header.allSatisfy({ $0 == 0 }) { return files }
            entries += 1
            guard entries <= maxEntries else { throw ArtifactError("more than \(maxEntries) entries") }
            guard checksumHolds(Array(header)) else { throw ArtifactError("entry at byte \(offset): bad checksum") }
            let path = try entryPath(Array(header))
            guard let size = number(Array(header[(offset + 124)..<(offset + 136)])), size >= 0,
                size <= archive.count - offset - 512
            else { throw ArtifactError("\(path): its size runs past the archive") }
            let parts = path.split(separator: "/")
            for end in parts.indices.dropLast() where links.contains(parts[...end].joined(separator: "/")) {
                throw ArtifactError("\(path): written through a link")
            }
            let target = folder + "/" + path
            let mode = number(Array(header[(offset + 100)..<(offset + 108)])) ?? 0o644
            switch archive[offset + 156] {
            case UInt8(ascii: "5"):
                try makeFolders(target)
            case UInt8(ascii: "0"), 0:
                try makeFolders((target as NSString).deletingLastPathComponent)
                try write(archive[(offset + 512)..<(offset + 512 + size)], to: target, executable: mode & 0o100 != 0)
                files += 1
            case UInt8(ascii: "2"):
                let linkTarget = String(
                    decoding: cString(Array(header[(offset + 157)..<(offset + 257)])), as: UTF8.self)
                guard staysInside(link: path, target: linkTarget) else {
                    throw ArtifactError("\(path): a link that leaves the folder (to \(linkTarget))")
                }
                try makeFolders((target as NSString).deletingLastPathComponent)
                guard symlink(linkTarget, target) == 0 else {
                    throw ArtifactError("\(path): \(String(cString: strerror(errno)))")
                }
                links.insert(path)
            default:
                throw ArtifactError("\(path): not a folder, file or link (type \(archive[offset + 156]))")
            }
            offset += 512 + (size + 511) / 512 * 512
        }
        throw ArtifactError("the archive ends without its end blocks")
    }

    private static func checksumHolds(_ header: [UInt8]) -> Bool {
        var copy = header
        for index in 148..<156 { copy[index] = UInt8(ascii: " ") }
        return number(Array(header[148..<156])) == copy.reduce(0) { $0 + Int($1) }
    }

    private static func entryPath(_ header: [UInt8]) throws -> String {
        let name = cString(Array(header[0..<100]))
        let prefix = cString(Array(header[345..<500]))
        var path = String(decoding: prefix.isEmpty ? name : prefix + [UInt8(ascii: "/")] + name, as: UTF8.self)
        if path.hasSuffix("/") { path.removeLast() }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, !path.hasPrefix("/"), parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }),
            !path.contains("\u{FFFD}")
        else { throw ArtifactError("an entry named '\(path.prefix(300))' (absolute, empty or with ..)") }
        return path
    }

    private static func cString(_ bytes: [UInt8]) -> [UInt8] {
        Array(bytes.prefix { $0 != 0 })
    }

    /// An octal field (digits, then NUL or spaces); nil for anything else.
    private static func number(_ field: [UInt8]) -> Int? {
        let digits = field.prefix { $0 != 0 && $0 != UInt8(ascii: " ") }
        guard !digits.isEmpty, digits.count <= 12,
            digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "7")).contains($0) })
        else { return nil }
        return Int(String(decoding: digits, as: UTF8.self), radix: 8)
    }

    private static func makeFolders(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw ArtifactError("\(path): \(error.localizedDescription)")
        }
    }

    /// A new file (never through a link, never over an existing one).
    private static func write(_ bytes: ArraySlice<UInt8>, to path: String, executable: Bool) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, executable ? 0o555 : 0o444)
        guard descriptor >= 0 else { throw ArtifactError("\(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var written = 0
        try bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let count = Foundation.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                guard count > 0 else { throw ArtifactError("\(path): \(String(cString: strerror(errno)))") }
                written += count
            }
        }
    }
}
