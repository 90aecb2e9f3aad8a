import SluiceCLI
import SluiceSupport

/// The `sluice` executable: logging set up, then the command tree of SluiceCLI.
@main
enum Entry {
    static func main() async {
        JSONLogHandler.bootstrap(defaultLevel: .warning)
        await Sluice.main()
    }
}
