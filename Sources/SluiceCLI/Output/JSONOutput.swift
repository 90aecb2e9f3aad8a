import Foundation

/// Prints one JSON value on a line (keys sorted, so output is stable for scripts). Use `NSNull()` for null.
func printJSON(_ value: Any) {
    guard
        let data = try? JSONSerialization.data(
            withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
    else {
        return
    }
    FileHandle.standardOutput.write(data + [0x0A])
}

/// Writes a line to standard error (progress and summaries, so standard output stays machine-readable).
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
