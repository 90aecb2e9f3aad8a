import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Files of a few kilobytes read with plain syscalls (per-invocation /proc reads are on the hot path).
public enum SmallFile {
    /// Reads a small file (such as one under /proc) with plain syscalls.
    public static func read(_ path: String, capacity: Int = 4096) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: capacity)
        let count = Glibc.read(fd, &buffer, capacity)
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }
}
