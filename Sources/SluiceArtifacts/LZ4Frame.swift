import CLZ4

/// LZ4 frames (liblz4's frame format, the one `lz4` the command reads and writes), whole buffers at a time.
public enum LZ4Frame {
    /// A frame liblz4 could not make or read, with its words.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// `input` as one LZ4 frame: fast level, 4 MiB independent blocks, the content size in the header.
    public static func compress(_ input: [UInt8]) throws -> [UInt8] {
        var preferences = LZ4F_preferences_t()
        preferences.frameInfo.blockSizeID = LZ4F_max4MB
        preferences.frameInfo.blockMode = LZ4F_blockIndependent
        preferences.frameInfo.contentSize = UInt64(input.count)
        let bound = LZ4F_compressFrameBound(input.count, &preferences)
        var output = [UInt8](repeating: 0, count: bound)
        let written = output.withUnsafeMutableBytes { target in
            input.withUnsafeBytes { source in
                LZ4F_compressFrame(target.baseAddress, bound, source.baseAddress, input.count, &preferences)
            }
        }
        try check(written, "compressing")
        output.removeSubrange(written...)
        return output
    }

    /// The content of the LZ4 frame `input` (which must be exactly one frame), decompressed straight
    /// into one buffer of the size its header states.
    /// - Throws: `Failure` for anything that is not one whole frame, a frame without its content size,
    ///   or content over `limit` bytes.
    public static func decompress(_ input: [UInt8], limit: Int) throws -> [UInt8] {
        var context: OpaquePointer?
        try check(LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION)), "starting to decompress")
        defer { LZ4F_freeDecompressionContext(context) }
        var info = LZ4F_frameInfo_t()
        var consumed = input.count
        try input.withUnsafeBytes { source in
            try check(LZ4F_getFrameInfo(context, &info, source.baseAddress, &consumed), "reading the frame header")
        }
        guard info.contentSize > 0 else {
            throw Failure(description: "the frame does not state its content size")
        }
        guard info.contentSize <= UInt64(limit) else {
            throw Failure(description: "the content is \(info.contentSize) bytes, over \(limit)")
        }
        var output = [UInt8](repeating: 0, count: Int(info.contentSize))
        var produced = 0
        var hint = 1
        while consumed < input.count, hint != 0 {
            var sourceSize = input.count - consumed
            var targetSize = output.count - produced
            hint = try input.withUnsafeBytes { source in
                try output.withUnsafeMutableBytes { target in
                    let result = LZ4F_decompress(
                        context, target.baseAddress! + produced, &targetSize, source.baseAddress! + consumed,
                        &sourceSize, nil)
                    try check(result, "decompressing")
                    return result
                }
            }
            consumed += sourceSize
            produced += targetSize
            if sourceSize == 0 && targetSize == 0 { break }
        }
        guard hint == 0, produced == output.count else { throw Failure(description: "the frame is cut short") }
        guard consumed == input.count else { throw Failure(description: "bytes follow the frame") }
        return output
    }

    private static func check(_ code: Int, _ doing: String) throws {
        if LZ4F_isError(code) != 0 {
            throw Failure(description: "LZ4 \(doing): \(String(cString: LZ4F_getErrorName(code)))")
        }
    }
}
