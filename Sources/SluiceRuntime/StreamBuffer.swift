import Foundation
import Synchronization

/// Bytes read from a pipe by a dedicated thread, awaited by the async side without blocking it.
///
/// What a function writes is untrusted: with a `limit`, more unconsumed bytes than that end the stream
/// (`overflowed`), the bytes are dropped, `onOverflow` runs once (it kills the process) and the rest of
/// what arrives is read and discarded, so the worker's memory stays bounded whatever the function does.
final class StreamBuffer: Sendable {
    private struct State {
        var bytes: [UInt8] = []
        var eof = false
        var overflowed = false
        var waiter: (@Sendable () -> Void)?
    }
    private let state = Mutex(State())
    /// Keep at most this many bytes (older ones are dropped); nil keeps everything.
    private let keepLast: Int?
    /// At most this many unconsumed bytes; nil: no bound (only with `keepLast`).
    let limit: Int?
    private let onOverflow: @Sendable () -> Void

    init(keepLast: Int? = nil, limit: Int? = nil, onOverflow: @escaping @Sendable () -> Void = {}) {
        self.keepLast = keepLast
        self.limit = limit
        self.onOverflow = onOverflow
    }

    /// Whether more than `limit` bytes were waiting at once (the stream then counts as ended).
    var overflowed: Bool { state.withLock { $0.overflowed } }

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
        let (waiter, overflowedNow) = state.withLock { state -> ((@Sendable () -> Void)?, Bool) in
            if state.overflowed { return (nil, false) }
            state.bytes += slice
            if let keepLast, state.bytes.count > keepLast { state.bytes.removeFirst(state.bytes.count - keepLast) }
            var overflowedNow = false
            if let limit, state.bytes.count > limit {
                state.overflowed = true
                state.bytes = []
                overflowedNow = true
            }
            defer { state.waiter = nil }
            return (state.waiter, overflowedNow)
        }
        if overflowedNow { onOverflow() }
        waiter?()
    }

    /// How a stream ended.
    enum End: Sendable { case eof, overflowed }

    /// Waits until `take` returns a value for the bytes so far (it may consume them by mutating) and how
    /// the stream ended, if it did. `take` runs under the buffer's lock: it must not call into it.
    func wait<T: Sendable>(_ take: @escaping @Sendable (inout [UInt8], End?) -> T?) async -> T {
        while true {
            let ready: T? = await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
                let immediate: T?? = state.withLock { state in
                    let end: End? = state.overflowed ? .overflowed : state.eof ? .eof : nil
                    if let value = take(&state.bytes, end) { return .some(value) }
                    state.waiter = { continuation.resume(returning: nil) }
                    return .none
                }
                if case .some(let value) = immediate { continuation.resume(returning: value) }
            }
            if let ready { return ready }
        }
    }

    /// Ends the stream as overflowed (the reader found a frame it will not hold): as if `limit` was
    /// passed, `onOverflow` runs once.
    func markOverflowed() {
        let first = state.withLock { state in
            defer {
                state.overflowed = true
                state.bytes = []
            }
            return !state.overflowed
        }
        if first { onOverflow() }
    }

    /// Everything read so far.
    var snapshot: [UInt8] { state.withLock { $0.bytes } }
}
