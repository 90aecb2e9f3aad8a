import Foundation
import SluiceFunctions
import SluiceSupport
import Testing

/// The split between a stable version and its canary (pure logic).
@Suite("Canary routes")
struct CanaryRouteTests {
    func spec(_ version: Int, tenant: String = "acme") -> FunctionSpec {
        FunctionSpec(
            manifest: FunctionManifest(
                name: "split", tenant: tenant, runtime: .python3, handler: "h.main", codePath: ""),
            version: version, codeHash: "sha256:" + String(repeating: "a", count: 64))
    }

    @Test("An invocation id always goes to the same version: FNV-1a buckets, the same in every process")
    func deterministic() {
        // Computed independently (FNV-1a 64 of the UTF-8 bytes, modulo 100).
        #expect(CanaryRoute.bucket("inv_a") == 80)
        #expect(CanaryRoute.bucket("inv_b") == 13)
        #expect(CanaryRoute.bucket("") == 37)
        var stable = spec(1)
        stable.canary = CanaryRoute(spec: spec(2), percent: 20)
        #expect(stable.routed("inv_b").version == 2)
        #expect(stable.routed("inv_a").version == 1)
        #expect(stable.routed("inv_a").canary == nil, "the stable version is routed without its canary")
        #expect(stable.running.map(\.version) == [1, 2])
    }

    @Test("The canary's share of 20,000 random invocation ids is its percent within 1.5 points")
    func share() {
        for percent in [1, 10, 50, 99] {
            let route = CanaryRoute(spec: spec(2), percent: percent)
            let taken = (0..<20_000).filter { _ in route.takes("inv_\(UUID().uuidString)") }.count
            #expect(abs(Double(taken) / 200 - Double(percent)) <= 1.5, "\(percent) %: \(taken) of 20000")
        }
    }

    @Test(
        "A record with a canary survives encoding; the registry refuses a canary out of range, of itself, nested or of another tenant"
    )
    func admission() throws {
        var stable = spec(1)
        stable.canary = CanaryRoute(spec: spec(2), percent: 30)
        #expect(try FunctionSpec.decode(try stable.encoded()) == stable)
        let admission = SpecAdmission()
        #expect(admission.problem(with: stable, key: "split", current: nil) == nil)
        var cases: [(String, FunctionSpec)] = []
        for percent in [0, 100, -5] {
            var bad = stable
            bad.canary?.percent = percent
            cases.append(("not 1…99", bad))
        }
        var own = stable
        own.canary = CanaryRoute(spec: spec(1), percent: 10)
        cases.append(("its own version", own))
        var nested = stable
        var inner = spec(2)
        inner.canary = CanaryRoute(spec: spec(3), percent: 10)
        nested.canary = CanaryRoute(spec: inner, percent: 10)
        cases.append(("a canary of its own", nested))
        var stranger = stable
        stranger.canary = CanaryRoute(spec: spec(2, tenant: "mallory"), percent: 10)
        cases.append(("belongs to tenant acme", stranger))
        for (reason, record) in cases {
            let problem = admission.problem(with: record, key: "split", current: nil)
            #expect(problem?.contains(reason) == true, "\(reason): \(problem ?? "admitted")")
        }
    }
}

/// Canary thresholds: `deploy.canary` in platform.yaml, a manifest's `deploy:` over it; checked again on a
/// registry record.
@Suite("Canary policies")
struct CanaryPolicyTests {
    func platform(_ text: String) throws -> PlatformConfiguration {
        try PlatformConfiguration.parse(YAMLFile(text: text, displayPath: "Config/platform.yaml"))
    }

    @Test(
        "Platform defaults, a manifest's fields over them, the project's file; an out-of-range field names file, line and field"
    )
    func parsing() throws {
        let base = try platform("deploy:\n  canary:\n    bake_seconds: 60\n    min_invocations: 10\n")
        #expect(base.canary.bakeSeconds == 60 && base.canary.minInvocations == 10)
        #expect(base.canary.maxErrorRateIncrease == CanaryPolicy.standard.maxErrorRateIncrease)
        let manifest = try base.canary.applying(
            YAMLFile(text: "max_error_rate_increase: 0.2\nmax_p99_ratio: 3\n", displayPath: "fn.yaml").root)
        #expect(manifest.bakeSeconds == 60 && manifest.maxErrorRateIncrease == 0.2 && manifest.maxP99Ratio == 3)
        #expect(try PlatformConfiguration.loadProject().canary == CanaryPolicy.standard)
        for (bad, field) in [
            ("deploy:\n  canary:\n    bake_seconds: 0\n", "bake_seconds"),
            ("deploy:\n  canary:\n    max_error_rate_increase: 1.5\n", "max_error_rate_increase"),
            ("deploy:\n  canary:\n    threshold: 3\n", "threshold"),
        ] {
            let error = #expect(throws: ConfigurationError.self) { try platform(bad) }
            let text = error.map { "\($0)" } ?? ""
            #expect(text.contains("Config/platform.yaml:3") && text.contains(field), "\(text)")
        }
    }

    @Test("A registry record whose canary policy is out of range is refused, naming the field")
    func admission() {
        var manifest = FunctionManifest(
            name: "judged", tenant: "acme", runtime: .python3, handler: "h.main", codePath: "")
        manifest.canaryPolicy = .standard
        let spec = FunctionSpec(manifest: manifest, version: 1, codeHash: "sha256:" + String(repeating: "a", count: 64))
        #expect(SpecAdmission().problem(with: spec, key: "judged", current: nil) == nil)
        var hostile = spec
        hostile.manifest.canaryPolicy?.minInvocations = -5
        #expect(
            SpecAdmission().problem(with: hostile, key: "judged", current: nil)
                == "deploy.min_invocations is out of range")
        hostile.manifest.canaryPolicy = .standard
        hostile.manifest.canaryPolicy?.windowSeconds = .infinity
        #expect(
            SpecAdmission().problem(with: hostile, key: "judged", current: nil)
                == "deploy.window_seconds is out of range")
    }
}

/// Named aliases beside `live` (pure logic): routing and admission.
@Suite("Aliases")
struct AliasRouteTests {
    func spec(_ version: Int) -> FunctionSpec {
        FunctionSpec(
            manifest: FunctionManifest(
                name: "named", tenant: "acme", runtime: .python3, handler: "h.main", codePath: ""),
            version: version, codeHash: "sha256:" + String(repeating: "a", count: 64))
    }

    @Test(
        "An alias routes to its version; live and no alias to the record's (or its canary's); an unknown alias to nothing"
    )
    func routing() {
        var record = spec(3)
        record.aliases = ["beta": spec(1)]
        record.canary = CanaryRoute(spec: spec(4), percent: 99)
        #expect(record.routed("inv_a", alias: "beta")?.version == 1)
        #expect(record.routed("inv_a", alias: nil)?.version == 4 && record.routed("inv_a", alias: "live")?.version == 4)
        #expect(record.routed("inv_a", alias: "gamma") == nil)
        #expect(record.running.map(\.version) == [3, 4, 1])
        let promoted = record.replacingLive(with: spec(4))
        #expect(promoted.version == 4 && promoted.canary == nil && promoted.aliases?["beta"]?.version == 1)
    }

    @Test("Admission refuses an alias named live or badly, one with aliases of its own, and more than 16")
    func admission() {
        let admission = SpecAdmission()
        var record = spec(3)
        record.aliases = ["beta": spec(1)]
        #expect(admission.problem(with: record, key: "named", current: nil) == nil)
        record.aliases = ["live": spec(1)]
        #expect(admission.problem(with: record, key: "named", current: nil) == "'live' is not an alias name")
        record.aliases = ["Beta!": spec(1)]
        #expect(admission.problem(with: record, key: "named", current: nil) == "'Beta!' is not an alias name")
        var nested = spec(1)
        nested.aliases = ["x": spec(2)]
        record.aliases = ["beta": nested]
        #expect(
            admission.problem(with: record, key: "named", current: nil)
                == "its alias beta has a canary or aliases of its own")
        record.aliases = Dictionary(uniqueKeysWithValues: (0..<17).map { ("a\($0)", spec(1)) })
        #expect(admission.problem(with: record, key: "named", current: nil) == "more than 16 aliases")
    }
}
