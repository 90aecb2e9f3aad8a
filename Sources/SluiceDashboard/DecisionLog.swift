/// The events the dashboard shows (Scaling Events, deploy events): the latest `perFunction` of each
/// function (named by the event's `keyField`), for at most `functions` functions (the one whose latest
/// event is oldest is dropped first), oldest first. Kept per function, so a flood of events for one
/// function (anyone can write the topic) does not push every other function's events off the page.
struct DecisionLog {
    static let functions = 500
    /// Longer function ids are not ones Sluice writes.
    static let maxFunctionIDBytes = 256

    let keyField: String
    let perFunction: Int
    private var byFunction: [String: [(sequence: Int, event: [String: Any])]] = [:]
    private var sequence = 0

    init(keyField: String = "function_id", perFunction: Int = 3) {
        self.keyField = keyField
        self.perFunction = perFunction
    }

    mutating func note(_ event: [String: Any]) {
        let function = event[keyField] as? String ?? ""
        guard function.utf8.count <= Self.maxFunctionIDBytes else { return }
        sequence += 1
        var kept = byFunction[function, default: []]
        kept.append((sequence, event))
        byFunction[function] = Array(kept.suffix(perFunction))
        if byFunction.count > Self.functions,
            let stalest = byFunction.min(by: { ($0.value.last?.sequence ?? 0) < ($1.value.last?.sequence ?? 0) })
        {
            byFunction[stalest.key] = nil
        }
    }

    /// Oldest first.
    var events: [[String: Any]] {
        byFunction.values.flatMap { $0 }.sorted { $0.sequence < $1.sequence }.map(\.event)
    }

    /// The latest event of `function` that `matches`.
    func latest(_ function: String, where matches: ([String: Any]) -> Bool = { _ in true }) -> [String: Any]? {
        byFunction[function]?.last { matches($0.event) }?.event
    }
}
