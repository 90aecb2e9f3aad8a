/// The Scaling Events the dashboard shows: the latest `perFunction` of each function, for at most
/// `functions` functions (the one whose latest event is oldest is dropped first), oldest first. Kept per
/// function, so a flood of events for one function (anyone can write the topic) does not push every
/// other function's decisions off the page.
struct DecisionLog {
    static let perFunction = 3
    static let functions = 500
    /// Longer function ids are not ones Sluice writes.
    static let maxFunctionIDBytes = 256

    private var byFunction: [String: [(sequence: Int, event: [String: Any])]] = [:]
    private var sequence = 0

    mutating func note(_ event: [String: Any]) {
        let function = event["function_id"] as? String ?? ""
        guard function.utf8.count <= Self.maxFunctionIDBytes else { return }
        sequence += 1
        var kept = byFunction[function, default: []]
        kept.append((sequence, event))
        byFunction[function] = Array(kept.suffix(Self.perFunction))
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
}
