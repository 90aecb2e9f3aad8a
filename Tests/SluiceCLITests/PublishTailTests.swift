import Foundation
import SluiceBroker
import SluiceKafka
import SluiceRecords
import SluiceTesting
import Testing

@Suite("bin/sluice publish and tail against the embedded broker", .timeLimit(.minutes(3)))
struct PublishTailTests {
    /// 1000 lines of UTF-8 text that is not JSON: quotes, escapes, control characters, emoji, a 200 KB line.
    static func lines() -> [String] {
        var lines: [String] = []
        for index in 0..<1000 {
            switch index % 7 {
            case 0: lines.append("line \(index): \"quoted\" and 'single' and \\backslash\\")
            case 1: lines.append("line \(index): emoji 😀🚀👩‍👩‍👧 and ünïcödé 漢字")
            case 2: lines.append("line \(index):\ttab\u{01}control\u{7F}")
            case 3: lines.append("")
            case 4: lines.append("{not json \(index)")
            case 5: lines.append("   leading and trailing spaces   ")
            default: lines.append("line \(index) \\u0041 is not decoded")
            }
        }
        lines[500] = "big:" + String(repeating: "0123456789abcdef😀", count: 200 * 1024 / 20)
        return lines
    }

    @Test("publish --lines then tail --json round-trips 1000 UTF-8 lines byte for byte")
    func roundTripLines() async throws {
        let topic = try await makeTestTopic("cli-lines", partitions: 1)
        let brokers = try await TestBroker.address()
        let lines = Self.lines()
        #expect(lines[500].utf8.count > 200_000)
        let input = Data(lines.joined(separator: "\n").utf8) + Data("\n".utf8)

        let published = try await CommandRunner.sluice(
            ["publish", topic, "--lines", "--brokers", brokers], input: input)
        #expect(published.status == 0, "\(published.errors)")
        let positions = published.output.split(separator: "\n")
        #expect(positions.count == 1000)
        #expect(positions.first == "\(topic)/0@0")
        #expect(positions.last == "\(topic)/0@999")
        #expect(published.errors.contains("published 1000 records"))

        let tailed = try await CommandRunner.sluice([
            "tail", topic, "--from-beginning", "--limit", "1000", "--json", "--brokers", brokers,
        ])
        #expect(tailed.status == 0, "\(tailed.errors)")
        let objects = tailed.output.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        try #require(objects.count == 1000)
        for (index, line) in objects.enumerated() {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["offset"] as? Int == index)
            let value = try #require(object["value"] as? String, "line \(index) has no string value")
            #expect(Array(value.utf8) == Array(lines[index].utf8), "line \(index) differs")
        }
    }

    @Test("tail --json embeds JSON values, keeps headers, and escapes bytes that are not UTF-8 losslessly")
    func tailJSONShapes() async throws {
        let topic = try await makeTestTopic("cli-shapes", partitions: 1)
        let brokers = try await TestBroker.address()
        let json = try await CommandRunner.sluice([
            "publish", topic, "--data", "{\"id\": 7}", "--key", "k", "--header", "trace=t-1", "--json", "--brokers",
            brokers,
        ])
        #expect(json.status == 0, "\(json.errors)")
        #expect(json.output.contains("\"offset\":0"))
        let binaryFile = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("bin"))
        try Data([0xFF, 0x00, 0xC3]).write(to: binaryFile)
        let binary = try await CommandRunner.sluice(["publish", topic, "--file", binaryFile.path, "--brokers", brokers])
        #expect(binary.status == 0, "\(binary.errors)")

        let tailed = try await CommandRunner.sluice([
            "tail", topic, "--from-beginning", "--limit", "2", "--json", "--brokers", brokers,
        ])
        let objects = try tailed.output.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        try #require(objects.count == 2)
        #expect((objects[0]["value"] as? [String: Any])?["id"] as? Int == 7)
        #expect(objects[0]["key"] as? String == "k")
        #expect((objects[0]["headers"] as? [[String: Any]])?.first?["value"] as? String == "t-1")
        #expect(objects[1]["value_base64"] as? String == Data([0xFF, 0x00, 0xC3]).base64EncodedString())
        // A record published without a traceparent starts a trace of its own.
        let started =
            (objects[1]["headers"] as? [[String: Any]])?.first { $0["name"] as? String == "traceparent" }?["value"]
            as? String
        #expect(
            started.flatMap(TraceParent.init(header:)) != nil, "no valid traceparent: \(String(describing: started))")
    }

    @Test("An unreachable broker fails within the timeout and names the address")
    func unreachableBroker() async throws {
        let address = "127.0.0.1:\(EmbeddedBroker.freePort())"
        let result = try await CommandRunner.sluice([
            "publish", "anything", "--data", "x", "--brokers", address, "--timeout", "2",
        ])
        #expect(result.status != 0)
        #expect(result.errors.contains(address))
        #expect(result.errors.contains("cannot reach"))
        // Generous bound (the command's own timeout is 2 s): it must give up, not hang.
        #expect(result.seconds < 15)
        let tail = try await CommandRunner.sluice(["tail", "anything", "--brokers", address, "--timeout", "2"])
        #expect(tail.status != 0)
        #expect(tail.errors.contains(address))
    }

    @Test("An unknown topic is a clear error, and nothing is created")
    func unknownTopic() async throws {
        let brokers = try await TestBroker.address()
        let topic = uniqueName("missing")
        let result = try await CommandRunner.sluice(["publish", topic, "--data", "x", "--brokers", brokers])
        #expect(result.status != 0)
        #expect(result.errors.contains("topic \(topic) does not exist"))
        let list = try await CommandRunner.sluice(["topics", "list", "--json", "--brokers", brokers])
        #expect(list.status == 0)
        #expect(!list.output.contains(topic))
        let tail = try await CommandRunner.sluice(["tail", topic, "--brokers", brokers])
        #expect(tail.status != 0)
        #expect(tail.errors.contains("topic \(topic) does not exist"))
    }

    @Test("Bad options are refused with a usage error")
    func badOptions() async throws {
        let both = try await CommandRunner.sluice(["publish", "t", "--data", "x", "--lines"])
        #expect(both.status != 0)
        #expect(both.errors.contains("exactly one of --data, --file or --lines"))
        let header = try await CommandRunner.sluice(["publish", "t", "--data", "x", "--header", "novalue"])
        #expect(header.status != 0)
        #expect(header.errors.contains("name=value"))
    }
}
