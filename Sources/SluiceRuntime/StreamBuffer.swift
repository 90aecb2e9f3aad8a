import Foundation
import Synchronization

/// Bytes read from a pipe by a dedicated thread, awaited by the async side without blocking it.
final class StreamBuffer: Sendable {
    private struct State {
        var bytes: [UInt8] = []
        var eof = false
        var waiter: (@Sendable () -> Void)?
    }
    private let state = Mutex(State())
    /// Keep at most this many bytes (older ones are dropped); nil keeps everything.
    private let keepLast: Int?

    init(keepLast: Int? = nil) {
        self.keepLast = keepLast
    }

    /// Starts the reader thread for `fd`; it closes `fd` at end of file.
    func startReading(_ fd: Int32, name: String) {
        let thread = Thread { [self] in
            var chunk = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = read(fd, &chunk, chunk.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                append(chunk[..<count])
            }
            close(fd)
            let waiter = state.withLock { state in
                state.eof = true
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?()
        }
        thread.name = name
        thread.start()
    }

    private func append(_ slice: ArraySlice<UInt8>) {
        let waiter = state.withLock { state in
            state.bytes += slice
            if let keepLast, state.bytes.count > keepLast { state.bytes.removeFirst(state.bytes.count - keepLast) }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?()
    }

    /// Waits until `take` returns a value for the bytes so far (it may consume them by mutating).
    func wait<T: Sendable>(_ take: @escaping @Sendable (inout [UInt8], Bool) -> T?) async -> T {
        while true {
            let ready: T? = await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
                let immediate: T?? = state.withLock { state in
                    if let value = take(&state.bytes, state.eof) { return .some(value) }
                    state.waiter = { continuation.resume(returning: nil) }
                    return .none
                }
                if case .some(let value) = immediate { continuation.resume(returning: value) }
            }
            if let ready { return ready }
        }
    }

    /// Everything read so far.
    var snapshot: [UInt8] { state.withLock { $0.bytes } }
}
