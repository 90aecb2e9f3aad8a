import Dispatch
import Foundation

/// Reads a file descriptor as lines of bytes (split on `\n`, which is removed; nothing else is changed).
/// Reads happen off Swift's cooperative pool.
public final class ByteLineReader: @unchecked Sendable {
    private let fd: Int32
    private var pending: [UInt8] = []
    private var finished = false
    private static let queue = DispatchQueue(label: "sluice.line-reader")

    public init(fileDescriptor: Int32 = 0) {
        self.fd = fileDescriptor
    }

    /// The next line, or nil at end of input. A last line without `\n` is returned too.
    public func nextLine() async throws -> [UInt8]? {
        while true {
            if let newline = pending.firstIndex(of: 0x0A) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                return line
            }
            if finished {
                if pending.isEmpty { return nil }
                defer { pending = [] }
                return pending
            }
            let chunk = try await readChunk()
            if chunk.isEmpty { finished = true } else { pending += chunk }
        }
    }

    private func readChunk() async throws -> [UInt8] {
        let fd = self.fd
        return try await withCheckedThrowingContinuation { continuation in
            Self.queue.async {
                var buffer = [UInt8](repeating: 0, count: 1 << 20)
                while true {
                    let count = read(fd, &buffer, buffer.count)
                    if count >= 0 {
                        continuation.resume(returning: Array(buffer[..<count]))
                        return
                    }
                    if errno != EINTR {
                        continuation.resume(throwing: POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO))
                        return
                    }
                }
            }
        }
    }
}
