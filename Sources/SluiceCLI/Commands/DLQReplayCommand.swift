import ArgumentParser
import SluiceDeadLetters
import SluiceRecords
import SluiceRegistry
import SluiceSupport

/// `sluice dlq replay`.
struct DLQReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Publish matching dead letters again as fresh invocation requests.",
        discussion: """
            Each becomes attempt 1 of the function's current version, with a sluice-replay-of header naming \
            the dead letter. Replays are recorded on sluice.dlq.replays: running the same replay again \
            publishes nothing, unless --force. Progress goes to standard error (a bar on a terminal).

            Examples:
              sluice dlq replay --function resize --dry-run
              sluice dlq replay --function resize --error-class timeout --rate 50 --limit 1000
              sluice dlq replay --function resize-v1 --to-function resize
            """
    )

    @OptionGroup var filter: DeadLetterFilterOptions
    @Option(help: "Replay at most this many.") var limit: Int?
    @Option(help: ArgumentHelp("At most this many requests per second (e.g. 100 or 100/s).", valueName: "n")) var rate:
        String?
    @Option(name: .customLong("to-function"), help: "Send them to this function instead.") var toFunction: String?
    @Option(name: .customLong("invocations-topic"), help: "Where requests go.") var invocationsTopic = PlatformTopics
        .standard.invocations
    @Flag(name: .customLong("dry-run"), help: "List what would be replayed; publish nothing.") var dryRun = false
    @Flag(help: "Replay also what was replayed before.") var force = false
    @Flag(
        help:
            "Print JSON: {\"matched\", \"already_replayed\", \"replayed\": [{dead_letter, invocation_id, function}], \"dry_run\", \"seconds\"}."
    )
    var json = false
    @OptionGroup var connection: ConnectionOptions

    var ratePerSecond: Double? {
        rate.flatMap { Double($0.hasSuffix("/s") ? String($0.dropLast(2)) : $0) }
    }

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if rate != nil, (ratePerSecond ?? 0) <= 0 {
            throw ValidationError("--rate takes a positive number per second, e.g. 100 or 100/s")
        }
    }

    func run() async throws {
        let kafka = connection.connection
        if let toFunction {
            let registry = try await FunctionRegistry.load(connection: kafka, admission: .project())
            let deployed = registry.function(named: toFunction) != nil
            await registry.close()
            guard deployed else { throw CLIError("function \(toFunction) is not deployed (`sluice functions list`)") }
        }
        var options = DeadLetterReplayer.Options()
        options.invocationsTopic = invocationsTopic
        options.toFunction = toFunction
        options.limit = limit
        options.rate = ratePerSecond
        options.force = force
        let replayer = DeadLetterReplayer(connection: kafka, options: options)
        async let ledger = replayer.loadLedger()
        let (letters, _) = try await filter.query.read(topic: filter.topic, connection: kafka)
        let report: DeadLetterReplayer.Report
        if dryRun {
            report = replayer.plan(letters, ledger: try await ledger)
        } else {
            let bar = ProgressBar(label: "replayed")
            report = try await replayer.replay(letters, ledger: try await ledger) { done, total in
                bar.update(done, of: total)
            }
            bar.finish()
        }
        if json {
            printJSON(report.jsonObject(dryRun: dryRun))
        } else {
            print(report.text(dryRun: dryRun, force: force))
        }
    }
}
