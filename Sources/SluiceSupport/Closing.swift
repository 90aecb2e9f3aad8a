/// Runs `body`, then `close`, also when `body` throws (its error is rethrown once closed): how a client
/// opened for one piece of work is closed by the scope that opened it.
public func closing<T>(
    isolation: isolated (any Actor)? = #isolation, close: () async -> Void, _ body: () async throws -> T
) async throws -> T {
    let value: T
    do {
        value = try await body()
    } catch {
        await close()
        throw error
    }
    await close()
    return value
}
