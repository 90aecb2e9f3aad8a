import SluiceFunctions
import SluiceKafka
import SluiceRecords

extension FunctionDeployer {
    /// Points `alias` of `name` at version `number`, republished as it was deployed and signed (from the
    /// versions topic); the live version and the other aliases stay.
    /// - Returns: the version the alias now runs.
    /// - Throws: `DeployRefusal` naming what is wrong (an invalid alias, no such function or version, too
    ///   many aliases).
    public func setAlias(_ alias: String, of name: String, to number: Int) async throws -> FunctionSpec {
        guard RecordBounds.isValidAlias(alias), alias != FunctionSpec.liveAlias else {
            throw DeployRefusal(
                message: "'\(alias.prefix(40))' is not an alias name: 1 to 32 of a-z, 0-9 and '-', other than live")
        }
        guard var record = registry.function(named: name) else {
            throw DeployRefusal(message: "function \(name) is not deployed")
        }
        let versions = try await versions(of: name)
        guard let target = versions.version(number) else {
            let known = versions.all.map { String($0.version) }.joined(separator: ", ")
            throw DeployRefusal(
                message: "\(name) has no version \(number) (versions: \(known.isEmpty ? "none" : known))")
        }
        let previous = record.aliases?[alias]?.version
        record.aliases = (record.aliases ?? [:]).merging([alias: target.stable]) { _, new in new }
        if let problem = registry.admission.problem(with: record, key: name, current: record.stable) {
            throw DeployRefusal(message: "\(name): alias \(alias) was not set: \(problem)")
        }
        _ = try await producer.send(
            ProducerRecord(topic: registry.topic, key: Array(name.utf8), value: try record.encoded()))
        var event = DeployEvent(
            function: name, eventType: .aliasSet, fromVersion: previous, toVersion: number,
            reason: "sluice alias set \(alias) \(number)")
        event.alias = alias
        try await announce(event)
        return target
    }

    /// Removes `alias` of `name`; its invocations then end as `rejected` dead letters naming it.
    /// - Returns: the version it pointed at.
    /// - Throws: `DeployRefusal` when the function or the alias does not exist.
    public func removeAlias(_ alias: String, of name: String) async throws -> FunctionSpec {
        guard var record = registry.function(named: name) else {
            throw DeployRefusal(message: "function \(name) is not deployed")
        }
        guard let target = record.aliases?[alias] else {
            let known = (record.aliases ?? [:]).keys.sorted().joined(separator: ", ")
            throw DeployRefusal(message: "\(name) has no alias \(alias) (aliases: \(known.isEmpty ? "none" : known))")
        }
        record.aliases?[alias] = nil
        if record.aliases?.isEmpty == true { record.aliases = nil }
        _ = try await producer.send(
            ProducerRecord(topic: registry.topic, key: Array(name.utf8), value: try record.encoded()))
        var event = DeployEvent(
            function: name, eventType: .aliasRemoved, fromVersion: target.version, toVersion: target.version,
            reason: "sluice alias remove \(alias)")
        event.alias = alias
        try await announce(event)
        return target
    }
}

extension FunctionDeployer {
    /// Forgets the versions of `name` on the versions topic (tombstones) but the current one, its canary and
    /// the newest `keep`: `sluice rollback --to` cannot go back to them afterwards. The newest version is
    /// always kept, so versions stay unique.
    /// - Returns: the versions forgotten.
    /// - Throws: `DeployRefusal` when the function has no versions.
    public func prune(name: String, keep: Int) async throws -> [Int] {
        let all = try await versions(of: name).all.map(\.version)
        guard !all.isEmpty else { throw DeployRefusal(message: "function \(name) has no deployed versions") }
        let running = registry.function(named: name)?.running.map(\.version) ?? []
        let kept = Set(running + all.suffix(max(1, keep)))
        let pruned = all.filter { !kept.contains($0) }
        for version in pruned {
            _ = try await producer.send(
                ProducerRecord(topic: versionsTopic, key: Array("\(name)@\(version)".utf8), value: nil))
        }
        return pruned
    }
}
