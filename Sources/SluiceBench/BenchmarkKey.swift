import SluiceFunctions

/// The deploy key of a benchmark run: its functions are signed with it and its workers trust it. Made in
/// memory for the run, never written.
enum BenchmarkKey {
    static let key = SigningKey()
    static var publicKey: String { key.publicKey }
}
