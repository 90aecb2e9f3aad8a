import Foundation
import Logging
import SluiceRecords

/// swift-log handler writing one JSON object per line to standard error:
/// `{"ts":"…","level":"info","label":"…","msg":"…", …metadata}`.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    /// Installs the handler for the process; the level comes from `SLUICE_LOG_LEVEL` when set.
    public static func bootstrap(defaultLevel: Logger.Level) {
        let level =
            ProcessInfo.processInfo.environment["SLUICE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
            ?? defaultLevel
        LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: level) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object: [String: Any] = [
            "ts": Timestamp.rfc3339(),
            "level": event.level.rawValue, "label": label, "msg": event.message.description,
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            object[key] = "\(value)"
        }
        guard
            var data = try? JSONSerialization.data(
                withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        data.append(0x0A)
        FileHandle.standardError.write(data)
    }
}
