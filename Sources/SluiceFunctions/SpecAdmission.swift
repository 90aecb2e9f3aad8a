import Foundation
import SluiceRecords

/// Decides whether a function version read from the registry topic may be applied. Anyone with broker
/// access can write that topic, so a record gets the checks `sluice deploy` makes, and more: a name
/// stays with the tenant that deployed it. (Whether it may *run* is the worker's call: its signature
/// and artifacts are checked there, `ArtifactResolver`.)
public struct SpecAdmission: Sendable {
    public var platform: PlatformConfiguration
    /// Platform topics under names of their own (the `sluice.` prefix is refused anyway).
    public var platformTopics: Set<String>

    public init(
        platform: PlatformConfiguration = .standard, platformTopics: Set<String> = []
    ) {
        self.platform = platform
        self.platformTopics = platformTopics
    }

    /// The project's platform configuration (`Config/platform.yaml`).
    /// - Throws: `ConfigurationError` for an invalid platform file.
    public static func project() throws -> SpecAdmission {
        SpecAdmission(platform: try .loadProject())
    }

    /// Why `spec`, read under `key` while `current` is deployed, must not run; nil when it may.
    public func problem(with spec: FunctionSpec, key: String, current: FunctionSpec?) -> String? {
        let manifest = spec.manifest
        guard spec.name == key else { return "its name '\(spec.name)' is not its key '\(key)'" }
        guard FunctionBounds.isValidName(spec.name) else { return "'\(spec.name)' is not a valid function name" }
        guard FunctionBounds.isValidTenant(manifest.tenant) else { return "'\(manifest.tenant)' is not a valid tenant" }
        if let current, current.manifest.tenant != manifest.tenant {
            return "\(spec.name) belongs to tenant \(current.manifest.tenant), not \(manifest.tenant)"
        }
        guard (1...1_000_000_000).contains(spec.version) else { return "version \(spec.version) is out of range" }
        if let problem = handlerProblem(manifest) ?? limitsProblem(manifest) ?? Self.retryProblem(manifest.retry)
            ?? manifest.canaryPolicy?.problem
        {
            return problem
        }
        guard FunctionBounds.triggerCount.contains(manifest.eventTriggers.count) else { return "too many triggers" }
        if let problem = manifest.eventTriggers.lazy.compactMap({
            FunctionBounds.triggerProblem($0, platformTopics: platformTopics)
        }).first {
            return problem
        }
        if let problem = Self.environmentProblem(manifest.environmentVars) { return problem }
        if manifest.isolation == .none, !platform.allowIsolationNone {
            return "isolation: none is not allowed here (sandbox.allow_isolation_none)"
        }
        if manifest.network == .host, !platform.allowHostNetwork {
            return "network: host is not allowed here (sandbox.allow_host_network)"
        }
        if let canary = spec.canary {
            guard (1...99).contains(canary.percent) else { return "its canary percent \(canary.percent) is not 1…99" }
            guard canary.spec.canary == nil else { return "its canary has a canary of its own" }
            guard canary.spec.version != spec.version else { return "its canary is its own version" }
            if let problem = problem(with: canary.spec, key: key, current: spec.stable) {
                return "its canary: \(problem)"
            }
        }
        if let problem = aliasesProblem(spec, key: key) { return problem }
        for reference in [spec.artifact, spec.dependencies].compactMap({ $0 }) {
            guard reference.partition >= 0, reference.offset >= 0,
                (1...platform.maxArtifactBytes).contains(reference.bytes)
            else { return "its artifact reference is out of range" }
        }
        return nil
    }

    /// At most `FunctionBounds.aliasCount` aliases, named as `RecordBounds.isValidAlias` says (not
    /// `live`), each a version that would be admitted on its own, without a canary or aliases.
    private func aliasesProblem(_ spec: FunctionSpec, key: String) -> String? {
        guard let aliases = spec.aliases else { return nil }
        guard FunctionBounds.aliasCount.contains(aliases.count) else {
            return "more than \(FunctionBounds.aliasCount.upperBound) aliases"
        }
        for (alias, target) in aliases.sorted(by: { $0.key < $1.key }) {
            guard RecordBounds.isValidAlias(alias), alias != FunctionSpec.liveAlias else {
                return "'\(alias.prefix(40))' is not an alias name"
            }
            guard target.canary == nil, target.aliases == nil else {
                return "its alias \(alias) has a canary or aliases of its own"
            }
            if let problem = problem(with: target, key: key, current: spec.stable) {
                return "its alias \(alias): \(problem)"
            }
        }
        return nil
    }

    private func handlerProblem(_ manifest: FunctionManifest) -> String? {
        let handler = manifest.handler
        switch manifest.runtime {
        case .python3:
            let parts = handler.split(separator: ".", omittingEmptySubsequences: false)
            let identifier = { (part: Substring) in
                part.first.map { $0 == "_" || $0.isLetter } == true
                    && part.allSatisfy { $0.isASCII && ($0 == "_" || $0.isLetter || $0.isNumber) }
            }
            guard handler.utf8.count <= 255, parts.count >= 2, parts.allSatisfy(identifier) else {
                return "handler '\(handler)' is not module.function"
            }
        case .exec:
            guard (1...255).contains(handler.utf8.count), !handler.hasPrefix("/"),
                !handler.split(separator: "/").contains(".."), !handler.contains("\0")
            else { return "handler '\(handler)' is not a path inside the code folder" }
        }
        return nil
    }

    private func limitsProblem(_ manifest: FunctionManifest) -> String? {
        let checks: [(String, Bool)] = [
            ("memory_mb", FunctionBounds.memoryMB.contains(manifest.memoryMB)),
            ("cpu_millicores", FunctionBounds.cpuMillicores.contains(manifest.cpuMillicores)),
            (
                "timeout_seconds",
                manifest.timeoutSeconds > 0 && FunctionBounds.timeoutSeconds.contains(manifest.timeoutSeconds)
            ),
            ("max_concurrency", FunctionBounds.maxConcurrency.contains(manifest.maxConcurrency)),
            ("min_warm", FunctionBounds.minWarm.contains(manifest.minWarm)),
            ("tmp_mb", FunctionBounds.tmpMB.contains(manifest.tmpMB)),
            ("pids_max", FunctionBounds.pidsMax.contains(manifest.pidsMax)),
            ("open_files", FunctionBounds.openFiles.contains(manifest.openFiles)),
        ]
        return checks.first { !$0.1 }.map { "\($0.0) is out of range" }
    }

    static func retryProblem(_ retry: RetryPolicy) -> String? {
        let checks: [(String, Bool)] = [
            ("retry.max_attempts", FunctionBounds.maxAttempts.contains(retry.maxAttempts)),
            ("retry.initial_ms", FunctionBounds.initialMs.contains(retry.initialMs)),
            ("retry.multiplier", FunctionBounds.multiplier.contains(retry.multiplier)),
            ("retry.max_ms", FunctionBounds.maxMs.contains(retry.maxMs)),
            ("retry.max_record_age_s", FunctionBounds.maxRecordAgeSeconds.contains(retry.maxRecordAgeSeconds)),
            ("retry.retry_on", !retry.retryOn.contains(.rejected)),
        ]
        return checks.first { !$0.1 }.map { "\($0.0) is out of range" }
    }

    /// Why a function's environment is refused, or nil: at most 256 variables of 64 KB in all, names
    /// of letters, digits and '_' not starting with a digit, no NUL in values.
    public static func environmentProblem(_ variables: [String: String]) -> String? {
        guard FunctionBounds.environmentCount.contains(variables.count) else {
            return "at most \(FunctionBounds.environmentCount.upperBound) environment variables"
        }
        let bytes = variables.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
        guard FunctionBounds.environmentBytes.contains(bytes) else {
            return "environment variables take \(bytes) bytes; at most \(FunctionBounds.environmentBytes.upperBound)"
        }
        for (name, value) in variables {
            guard name.first.map({ !$0.isNumber }) == true,
                name.allSatisfy({ $0.isASCII && ($0 == "_" || $0.isLetter || $0.isNumber) })
            else { return "'\(name)' is not an environment variable name" }
            if value.contains("\0") { return "the value of \(name) holds a NUL byte" }
        }
        return nil
    }
}
