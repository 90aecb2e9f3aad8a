/// The ranges a function's numbers must fall in: checked when a manifest is parsed (`sluice deploy`) and
/// again when a worker reads a registry record (which anyone with broker access can write).
public enum FunctionBounds {
    public static let memoryMB = 16...65_536
    public static let cpuMillicores = 10...64_000
    /// Seconds; above 0.
    public static let timeoutSeconds = 0.0...900.0
    public static let maxConcurrency = 1...10_000
    public static let minWarm = 0...1000
    public static let tmpMB = 1...16_384
    public static let pidsMax = 4...32_768
    public static let openFiles = 16...1_048_576
    public static let maxAttempts = 1...100
    public static let initialMs = 0...3_600_000
    public static let multiplier = 1.0...100.0
    public static let maxMs = 0...RetryPolicy.longestBackoffMs
    public static let maxRecordAgeSeconds = 1...31_536_000
    /// Environment variables: how many, and the bytes of all names and values together.
    public static let environmentCount = 0...256
    public static let environmentBytes = 0...65_536
    public static let triggerCount = 0...64
    /// Named aliases of one function (beside `live`).
    public static let aliasCount = 0...16

    /// A function name: lowercase letters, digits and '-', starting with a letter, at most 63.
    public static func isValidName(_ name: String) -> Bool {
        name.utf8.count <= 63 && name.first?.isLetter == true
            && name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }
    }

    /// A tenant: 1 to 63 letters, digits, '-' and '_'.
    public static func isValidTenant(_ tenant: String) -> Bool {
        (1...63).contains(tenant.utf8.count)
            && tenant.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
    }

    /// Why `topic` cannot trigger a function, or nil: a Kafka topic name (letters, digits, '.', '_', '-',
    /// at most 249) that is not one of the platform's own (`sluice.…`, Kafka's internal `__…`, or a
    /// platform topic configured under another name). A platform topic as a trigger loops (results
    /// feeding the function that makes them) or leaks (every tenant's manifests, scaling, dead letters).
    public static func triggerProblem(_ topic: String, platformTopics: Set<String> = []) -> String? {
        guard (1...249).contains(topic.utf8.count), topic != ".", topic != "..",
            topic.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") })
        else { return "'\(topic)' is not a Kafka topic name (letters, digits, '.', '_', '-', at most 249)" }
        if topic.hasPrefix("sluice.") || topic.hasPrefix("__") || platformTopics.contains(topic) {
            return "'\(topic)' is a platform topic; functions may not be triggered by platform topics"
        }
        return nil
    }
}
