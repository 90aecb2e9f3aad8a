import Foundation
import SluiceSupport

/// The text tables of `sluice lag`: partitions, and dead letters per function.
public enum LagTable {
    /// One row per partition of `groups` (those on `topic` when given).
    public static func partitions(_ groups: [GroupLag], topic: String?) -> String {
        let rows = groups.flatMap { group in group.partitions.map { (group, $0) } }.filter {
            topic == nil || $0.1.topic == topic
        }
        guard !rows.isEmpty else { return "no consumer group has committed offsets\(topic.map { " on \($0)" } ?? "")" }
        return TextTable.render(
            header: [
                "GROUP", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "LAG TIME", "IN/S", "OUT/S", "STATUS",
                "OWNER",
            ],
            rows: rows.map { group, row in
                [
                    row.group, row.topic, String(row.partition), String(row.committed), String(row.end),
                    String(row.lag),
                    duration(row.lagSeconds), String(format: "%.1f", row.produceRate),
                    String(format: "%.1f", row.consumeRate),
                    row.status == .ok && group.status != "OK" ? "OK (group \(group.status))" : row.status.rawValue,
                    row.owner ?? "-",
                ]
            })
    }

    /// Dead letters per function with their growth and the command that replays them; nil when none.
    public static func deadLetters(_ depth: DeadLetterDepth) -> String? {
        guard !depth.functions.isEmpty else { return nil }
        return TextTable.render(
            header: ["FUNCTION", "DEAD LETTERS", "NEW/MIN", "REPLAY"],
            rows: depth.functions.map { function in
                [
                    function, String(depth.depth(function)), String(format: "%.1f", depth.growthPerMinute(function)),
                    "sluice dlq replay --function \(function)",
                ]
            })
    }

    /// 0.4s, 12s, 3m05s, 2h01m.
    public static func duration(_ seconds: Double) -> String {
        if seconds < 10 { return String(format: "%.1fs", seconds) }
        let whole = Int(seconds)
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        return String(format: "%dh%02dm", whole / 3600, (whole % 3600) / 60)
    }
}
