import Foundation
import Synchronization

/// Progress of long work on standard error: a bar redrawn in place on a terminal, a plain line per
/// second otherwise (logs and CI).
public final class ProgressBar: Sendable {
    private let label: String
    private let start = ContinuousClock.now
    private let state = Mutex<(lastDraw: ContinuousClock.Instant?, done: Int, total: Int)>((nil, 0, 0))
    private let terminal = isatty(STDERR_FILENO) == 1

    public init(label: String) { self.label = label }

    public func update(_ done: Int, of total: Int) {
        let now = ContinuousClock.now
        let draw = state.withLock { state -> Bool in
            state.done = done
            state.total = total
            let interval: Duration = terminal ? .milliseconds(100) : .seconds(1)
            guard done == total || state.lastDraw.map({ now - $0 >= interval }) ?? true else { return false }
            state.lastDraw = now
            return true
        }
        if draw { FileHandle.standardError.write(Data(line(done, total, now).utf8)) }
    }

    public func finish() {
        if terminal, state.withLock({ $0.lastDraw }) != nil { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private func line(_ done: Int, _ total: Int, _ now: ContinuousClock.Instant) -> String {
        let elapsed = max(0.001, (now - start).inSeconds)
        let rate = Double(done) / elapsed
        let eta = rate > 0 ? Int((Double(total - done) / rate).rounded(.up)) : 0
        let figures = "\(done)/\(total)  \(Int(rate))/s  ETA \(eta)s"
        guard terminal else { return "\(label) \(figures)\n" }
        let width = 30
        let filled = total == 0 ? width : width * done / total
        return "\r\(label) [" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            + "] " + figures
    }
}
