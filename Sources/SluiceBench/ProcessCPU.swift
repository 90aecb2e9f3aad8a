import Foundation
import SluiceBroker
import SluiceKafka

/// CPU time (user + system) spent by processes: what an event costs, steadier than events per second on
/// a noisy machine.
struct ProcessCPU: Sendable {
    /// The embedded broker's pid, when this run's broker is one `BenchmarkCluster` started.
    let brokerPID: pid_t?

    init(connection: KafkaConnection) {
        let address = connection.brokers.count == 1 ? connection.brokers[0] : ""
        let port = address.split(separator: ":").last.flatMap { Int($0) }
        brokerPID = port.flatMap {
            EmbeddedBroker(port: $0, runDirectory: BenchmarkCluster.brokerRunDirectory).runningPID()
        }
    }

    /// This process's CPU seconds and the broker's (nil when unknown).
    func sample() -> (own: Double, broker: Double?) {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let own =
            Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1_000_000
        return (own, brokerPID.flatMap(Self.seconds(pid:)))
    }

    /// Fields 14 and 15 of `/proc/<pid>/stat` (after the parenthesised command name).
    static func seconds(pid: pid_t) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3); utime and stime are fields 14 and 15.
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
