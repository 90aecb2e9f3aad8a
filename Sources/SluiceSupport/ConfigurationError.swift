/// A configuration file (topic definition, manifest, platform config) is wrong: names the file, line and
/// field, and says what was expected.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable, Equatable {
    public let file: String
    /// 1-based; 0 when the whole file is concerned.
    public let line: Int
    /// Dotted path of the field (`topics[2].partitions`), empty for file-level problems.
    public let field: String
    public let message: String

    public init(file: String, line: Int, field: String, message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    public var description: String {
        let place = line > 0 ? "\(file):\(line)" : file
        return field.isEmpty ? "\(place): \(message)" : "\(place): field '\(field)': \(message)"
    }
}
