import Foundation
import Yams

/// A YAML file read with line numbers kept, so that every error names file, line and field.
public struct YAMLFile: Sendable {
    public let path: String
    public let root: YAMLValue

    /// Parses `path`; a syntax error is a `ConfigurationError` at the line the parser stopped.
    public init(path: String, displayPath: String? = nil) throws {
        let shown = displayPath ?? path
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(
                file: shown, line: 0, field: "", message: "cannot read the file: \(error.localizedDescription)")
        }
        try self.init(text: text, displayPath: shown)
    }

    public init(text: String, displayPath: String) throws {
        self.path = displayPath
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw ConfigurationError(file: displayPath, line: 0, field: "", message: "the file is empty")
            }
            root = YAMLValue(node: node, file: displayPath, field: "")
        } catch let error as ConfigurationError {
            throw error
        } catch let error as YamlError {
            throw ConfigurationError(
                file: displayPath, line: Self.line(of: error), field: "",
                message: "invalid YAML: \(Self.summary(of: error))")
        } catch {
            throw ConfigurationError(file: displayPath, line: 0, field: "", message: "invalid YAML: \(error)")
        }
    }

    private static func line(of error: YamlError) -> Int {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return mark.line
        default:
            return 0
        }
    }

    private static func summary(of error: YamlError) -> String {
        switch error {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _),
            .composer(let context, let problem, _, _):
            return [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
        default:
            return "\(error)"
        }
    }
}

/// A node of a YAML file with its place (file, line, field path), and typed readers that fail with a
/// `ConfigurationError` naming that place.
public struct YAMLValue: @unchecked Sendable {
    let node: Node
    public let file: String
    public let field: String

    init(node: Node, file: String, field: String) {
        self.node = node
        self.file = file
        self.field = field
    }

    public var line: Int { node.mark?.line ?? 0 }

    public func error(_ message: String) -> ConfigurationError {
        ConfigurationError(file: file, line: line, field: field, message: message)
    }

    private func child(_ node: Node, _ name: String) -> YAMLValue {
        YAMLValue(node: node, file: file, field: field.isEmpty ? name : "\(field).\(name)")
    }

    /// The entries of a mapping, after checking that no key outside `allowed` is present.
    public func mapping(allowed: Set<String>) throws -> YAMLMapping {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping of keys to values") }
        var entries: [(String, YAMLValue)] = []
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.string else { throw child(keyNode, "?").error("keys must be strings") }
            let value = child(valueNode, key)
            if !allowed.contains(key) {
                throw YAMLValue(node: keyNode, file: file, field: value.field)
                    .error("unknown key; allowed keys are \(allowed.sorted().joined(separator: ", "))")
            }
            if entries.contains(where: { $0.0 == key }) { throw value.error("the key appears twice") }
            entries.append((key, value))
        }
        return YAMLMapping(owner: self, entries: entries)
    }

    /// A mapping whose keys are free (environment variables, topic configs), values as strings.
    public func stringMap() throws -> [String: String] {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping of names to values") }
        var result: [String: String] = [:]
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.string else { throw child(keyNode, "?").error("keys must be strings") }
            result[key] = try child(valueNode, key).scalar()
        }
        return result
    }

    public func list() throws -> [YAMLValue] {
        guard case .sequence(let sequence) = node else { throw error("expected a list") }
        return sequence.enumerated().map { index, item in
            YAMLValue(node: item, file: file, field: "\(field)[\(index)]")
        }
    }

    /// Any scalar, as its text.
    public func scalar() throws -> String {
        guard case .scalar(let scalar) = node else { throw error("expected a single value") }
        return scalar.string
    }

    public func string() throws -> String {
        guard case .scalar(let scalar) = node, !scalar.string.isEmpty else {
            throw error("expected a non-empty string")
        }
        return scalar.string
    }

    public func int(in range: ClosedRange<Int>) throws -> Int {
        guard case .scalar(let scalar) = node, let value = Int(scalar.string) else {
            throw error("expected a whole number, got '\((try? scalar()) ?? "a non-scalar")'")
        }
        guard range.contains(value) else {
            throw error("\(value) is out of range \(range.lowerBound)…\(range.upperBound)")
        }
        return value
    }

    public func stringList() throws -> [String] {
        try list().map { try $0.string() }
    }

    public func double(in range: ClosedRange<Double>) throws -> Double {
        guard case .scalar(let scalar) = node, let value = Double(scalar.string), value.isFinite else {
            throw error("expected a number, got '\((try? scalar()) ?? "a non-scalar")'")
        }
        guard range.contains(value) else {
            throw error("\(value) is out of range \(range.lowerBound)…\(range.upperBound)")
        }
        return value
    }

    public func bool() throws -> Bool {
        switch try scalar() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error("expected true or false, got '\((try? scalar()) ?? "")'")
        }
    }

    /// One of an enumeration's raw values.
    public func choice<Choice: RawRepresentable & CaseIterable>(_: Choice.Type) throws -> Choice
    where Choice.RawValue == String {
        let text = try string()
        guard let value = Choice(rawValue: text) else {
            throw error("'\(text)' is not one of \(Choice.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }
}

/// The checked entries of a YAML mapping.
public struct YAMLMapping: Sendable {
    public let owner: YAMLValue
    let entries: [(String, YAMLValue)]

    public subscript(key: String) -> YAMLValue? {
        entries.first { $0.0 == key }?.1
    }

    /// The value of a key that must be present.
    public func required(_ key: String) throws -> YAMLValue {
        guard let value = self[key] else {
            let field = owner.field.isEmpty ? key : "\(owner.field).\(key)"
            throw ConfigurationError(
                file: owner.file, line: owner.line, field: field, message: "is required but missing")
        }
        return value
    }
}
