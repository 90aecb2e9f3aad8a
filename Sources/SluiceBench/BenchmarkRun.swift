import Foundation
import SluiceSupport

/// The figures of one `sluice bench all` run, saved as `bench/results/<date>-<commit>.json` and compared
/// with `sluice bench compare`.
public struct BenchmarkRun: Sendable, Codable {
    public var commit: String
    public var date: String
    public var figures: [BenchmarkFigure]

    public init(commit: String, date: String, figures: [BenchmarkFigure]) {
        self.commit = commit
        self.date = date
        self.figures = figures
    }

    /// Reads a saved run.
    /// - Throws: a `ConfigurationError` naming the file when it cannot be read or is not a saved run.
    public static func load(path: String) throws -> BenchmarkRun {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigurationError(
                file: path, line: 0, field: "", message: "no such file (`sluice bench all --save` writes them)")
        }
        do {
            return try JSONDecoder().decode(BenchmarkRun.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw ConfigurationError(file: path, line: 0, field: "", message: "not a saved benchmark run (\(error))")
        }
    }

    /// Writes it under `folder` as `<date>-<commit>.json`; returns the path.
    public func save(in folder: URL) throws -> String {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let path = folder.appendingPathComponent("\(date.prefix(10))-\(commit).json").path
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// One table: every figure, its baseline in the same run and their ratio.
    public var table: String {
        TextTable.render(
            header: ["FIGURE", "VALUE", "UNIT", "BASELINE", "RATIO"],
            rows: figures.map { figure in
                [
                    figure.name, Self.format(figure.value), figure.unit, figure.baseline.map(Self.format) ?? "-",
                    figure.ratio.map { String(format: "%.3f", $0) } ?? "-",
                ]
            })
    }

    /// Each figure of `self` against `before`; `worse` lists those more than `threshold` worse.
    public func compared(with before: BenchmarkRun, threshold: Double = 0.10) -> (table: String, worse: [String]) {
        let earlier = Dictionary(before.figures.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var worse: [String] = []
        let rows = figures.map { figure -> [String] in
            guard let old = earlier[figure.name], let change = figure.change(from: old) else {
                return [figure.name, "-", Self.format(figure.value), figure.unit, "new"]
            }
            if change < -threshold { worse.append(figure.name) }
            let mark = change < -threshold ? "  WORSE" : ""
            return [
                figure.name, Self.format(old.value), Self.format(figure.value), figure.unit,
                String(format: "%+.1f %%", change * 100) + mark,
            ]
        }
        let header = ["FIGURE", before.commit, commit, "UNIT", "CHANGE (+ better)"]
        return (TextTable.render(header: header, rows: rows), worse)
    }

    static func format(_ value: Double) -> String {
        value >= 100 ? String(format: "%.0f", value) : String(format: "%.2f", value)
    }
}

extension BenchmarkRun {
    /// The checkout's commit (short), read from `.git` without running git; "unknown" outside a checkout.
    public static func commit(of root: URL) -> String {
        let git = root.appendingPathComponent(".git")
        guard let head = try? String(contentsOf: git.appendingPathComponent("HEAD"), encoding: .utf8) else {
            return "unknown"
        }
        var id = head.trimmingCharacters(in: .whitespacesAndNewlines)
        if id.hasPrefix("ref: ") {
            let ref = String(id.dropFirst(5))
            if let loose = try? String(contentsOf: git.appendingPathComponent(ref), encoding: .utf8) {
                id = loose.trimmingCharacters(in: .whitespacesAndNewlines)
            } else if let packed = try? String(contentsOf: git.appendingPathComponent("packed-refs"), encoding: .utf8),
                let line = packed.split(separator: "\n").first(where: { $0.hasSuffix(" " + ref) })
            {
                id = String(line.prefix(40))
            } else {
                return "unknown"
            }
        }
        return String(id.prefix(7))
    }
}
