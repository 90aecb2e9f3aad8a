import Foundation
import SluiceBroker
import SluiceTesting
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// GET of a local URL's body as text (nil until it answers).
func httpGet(_ url: String) async -> String? {
    guard let url = URL(string: url), let (data, response) = try? await URLSession.shared.data(from: url),
        (response as? HTTPURLResponse)?.statusCode == 200
    else { return nil }
    return String(decoding: data, as: UTF8.self)
}

/// Every line of a Prometheus text exposition: comment, blank, or `name{labels} value`.
func parsePrometheus(_ text: String) -> [(name: String, labels: [String: String], value: Double)]? {
    var samples: [(String, [String: String], Double)] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
        if line.hasPrefix("#") { continue }
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
            return nil
        }
        let series = line[..<space]
        var name = String(series)
        var labels: [String: String] = [:]
        if let open = series.firstIndex(of: "{") {
            guard series.last == "}" else { return nil }
            name = String(series[..<open])
            for pair in series[series.index(after: open)..<series.index(before: series.endIndex)].split(separator: ",")
            {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, parts[1].hasPrefix("\""), parts[1].hasSuffix("\"") else { return nil }
                labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
            }
        }
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }) else { return nil }
        samples.append((name, labels, value))
    }
    return samples
}

@Suite("Prometheus metrics of a worker", .timeLimit(.minutes(3)))
struct MetricsTests {
    @Test("A worker's /metrics parses as Prometheus text and counts its invocations")
    func workerMetrics() async throws {
        let harness = try await PipelineHarness.make()
        let name = uniqueName("counted")
        try await harness.deploy(
            try harness.writeFunction(
                "name: \(name)\ntenant: acme\nruntime: python3\nhandler: handler.main\nretry:\n  max_attempts: 1\n",
                files: [
                    "handler.py":
                        "def main(event, context):\n    if event == 'bad':\n        raise RuntimeError('bad')\n    return event\n"
                ]))
        let port = EmbeddedBroker.freePort()
        let worker = try BackgroundSluice(
            ["worker"] + harness.workerArguments + [
                "--group", "metrics-\(harness.invocationsTopic)", "--metrics-port", String(port),
            ])
        defer { worker.stop() }
        _ = try await harness.publishRequests(
            function: name, count: 6, key: { "k\($0)" }, value: { $0 == 0 ? "bad" : "ok\($0)" })
        // A request for a function nobody deployed: its name (anyone's text) makes no series.
        let ghost = uniqueName("ghost")
        _ = try await harness.publishRequests(function: ghost, count: 1, key: { _ in nil }, value: { _ in "1" })
        _ = try await harness.readJSON("sluice.results", function: name) { $0.count >= 6 }
        _ = try await harness.readJSON("sluice.results", function: ghost) { $0.count >= 1 }

        let text = try await withDeadline(.seconds(30), "the worker's /metrics answering") {
            while true {
                if let text = await httpGet("http://127.0.0.1:\(port)/metrics"), text.contains(name) { return text }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        let samples = try #require(parsePrometheus(text), "not Prometheus text:\n\(text.prefix(500))")
        func value(_ metric: String, _ labels: [String: String]) -> Double? {
            samples.first { sample in sample.name == metric && labels.allSatisfy { sample.labels[$0.key] == $0.value }
            }?.value
        }
        #expect(value("sluice_invocations_total", ["function": name, "status": "success"]) == 5)
        #expect(value("sluice_invocations_total", ["function": name, "status": "error"]) == 1)
        #expect(!text.contains(ghost), "a series names the undeployed function \(ghost)")
        #expect(value("sluice_invocations_total", ["function": "(not deployed)", "status": "rejected"]) ?? 0 >= 1)
        #expect(value("sluice_invocation_errors_total", ["function": name, "class": "error"]) == 1)
        #expect((value("sluice_cold_starts_total", ["function": name]) ?? 0) >= 1)
        #expect(value("sluice_invocation_duration_seconds_count", ["function": name]) == 6)
        #expect(samples.contains { $0.name == "sluice_invocations_in_flight" })
    }
}
