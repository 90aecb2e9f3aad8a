import Foundation
import Synchronization

/// Lowercase hex of bytes (Foundation's `String(format:)` costs microseconds per byte on Linux).
public enum Hex {
    private static let digits: StaticString = "0123456789abcdef"

    public static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        if let text = bytes.withContiguousStorageIfAvailable({ encode(UnsafeRawBufferPointer($0)) }) { return text }
        return encode(Array(bytes))
    }

    /// Without an intermediate array: one allocation for the string (none up to 7 bytes).
    public static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            digits.withUTF8Buffer { digits in
                for (index, byte) in bytes.enumerated() {
                    out[2 * index] = digits[Int(byte >> 4)]
                    out[2 * index + 1] = digits[Int(byte & 0x0f)]
                }
            }
            return bytes.count * 2
        }
    }

    /// `count` random bytes as hex (trace and invocation ids): drawn from a buffer that the system's
    /// generator refills 4 KB at a time, instead of one `getrandom` call per 8 bytes.
    public static func random(bytes count: Int) -> String {
        withUnsafeTemporaryAllocation(byteCount: count, alignment: 1) { buffer in
            RandomPool.shared.fill(buffer)
            return encode(UnsafeRawBufferPointer(buffer))
        }
    }
}

/// Random bytes from a buffer refilled 4 KB at a time.
final class RandomPool: Sendable {
    static let shared = RandomPool()
    private struct State {
        var bytes = [UInt8](repeating: 0, count: 4096)
        var used = 4096
    }
    private let state = Mutex(State())

    /// glibc's `arc4random_buf` (2.36): the kernel's generator (`getrandom`), as
    /// `SystemRandomNumberGenerator` — one call per refill instead of one per 8 bytes.
    private static func refill(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress else { return }
        arc4random_buf(base, buffer.count)
    }

    func fill(_ out: UnsafeMutableRawBufferPointer) {
        state.withLock { state in
            var written = 0
            while written < out.count {
                if state.used == state.bytes.count {
                    state.bytes.withUnsafeMutableBytes { Self.refill($0) }
                    state.used = 0
                }
                let take = min(out.count - written, state.bytes.count - state.used)
                state.bytes.withUnsafeBytes { raw in
                    UnsafeMutableRawBufferPointer(rebasing: out[written..<(written + take)])
                        .copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[state.used..<(state.used + take)]))
                }
                state.used += take
                written += take
            }
        }
    }
}
