import Testing

@testable import SluiceDashboard

@Suite("The dashboard's scaling decisions")
struct DecisionLogTests {
    @Test("A flood for one function keeps its last 3 and leaves the others; past 500 functions the stalest goes")
    func perFunction() {
        var log = DecisionLog()
        log.note(["function_id": "quiet", "event_id": "q1"])
        for index in 0..<1000 { log.note(["function_id": "flood", "event_id": "f\(index)"]) }
        let ids = log.events.compactMap { $0["event_id"] as? String }
        #expect(ids == ["q1", "f997", "f998", "f999"])
        for index in 0..<DecisionLog.functions { log.note(["function_id": "fn\(index)", "event_id": "n\(index)"]) }
        let functions = Set(log.events.compactMap { $0["function_id"] as? String })
        #expect(functions.count == DecisionLog.functions)
        #expect(!functions.contains("quiet") && !functions.contains("flood"))
        log.note(["function_id": String(repeating: "x", count: 300), "event_id": "long"])
        #expect(!log.events.contains { $0["event_id"] as? String == "long" })
    }
}
