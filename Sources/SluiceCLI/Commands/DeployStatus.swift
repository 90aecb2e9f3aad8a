import Foundation
import SluiceFunctions
import SluiceKafka
import SluiceRegistry
import SluiceRollout

/// `sluice deploy status NAME [--json]` (dispatched by `DeployCommand`: a subcommand beside its paths
/// argument is not reachable with ArgumentParser).
struct DeployStatus {
    let name: String
    let json: Bool
    let connection: KafkaConnection

    func run() async throws {
        let status: DeploymentStatus
        do {
            status = try await DeploymentStatus.read(name: name, connection: connection, admission: .project())
        } catch let refusal as DeployRefusal {
            throw CLIError(refusal.message)
        }
        if json {
            printJSON(status.jsonObject)
            return
        }
        switch status.state {
        case .baking:
            print(
                "\(name): baking — version \(status.canaryVersion ?? 0) takes \(status.canaryPercent) % of new invocations since \(status.canarySince ?? "?"), version \(status.stableVersion) the rest"
            )
        case .stable:
            print("\(name): stable — version \(status.stableVersion) takes every invocation")
        case .promoted, .rolledBack:
            let event = status.lastEvent
            print(
                "\(name): \(status.state.rawValue) — version \(status.stableVersion) takes every invocation (\(event?.decidedBy ?? "?"), \(event?.timestamp ?? "?"): \(event?.reason ?? ""))"
            )
        }
        if !status.aliases.isEmpty {
            print(
                "  aliases: "
                    + status.aliases.sorted { $0.key < $1.key }.map { "\($0.key) → version \($0.value)" }.joined(
                        separator: ", "))
        }
        for (label, figures) in [("canary", status.canary), ("stable", status.stable)] {
            guard let figures else { continue }
            let p99 = figures.p99Ms.map { String(format: "%.1f ms", $0) } ?? "–"
            print(
                "  \(label) version \(figures.version): \(figures.invocations) attempts, \(figures.errors) failed (\(String(format: "%.1f", figures.errorRate * 100)) %), warm p99 \(p99)"
            )
        }
    }
}
