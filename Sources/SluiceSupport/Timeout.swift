/// Runs `operation` and returns its value, or nil when `timeout` passes first: then `onTimeout` runs
/// (to make a stuck operation end: kill a process, finish a stream), the operation is cancelled, and
/// this returns once it has ended. The one time limit of the codebase.
public func withTimeout<T: Sendable>(
    _ timeout: Duration, onTimeout: @escaping @Sendable () async -> Void = {},
    _ operation: @escaping @Sendable () async -> T
) async -> T? {
    await withTaskGroup(of: T?.self) { group in
        group.addTask { await operation() }
        group.addTask {
            try? await Task.sleep(for: timeout)
            return nil
        }
        let first = await group.next() ?? nil
        if first == nil { await onTimeout() }
        group.cancelAll()
        return first
    }
}

/// `withTimeout` for a throwing operation: its error is rethrown; nil when time ran out.
public func withTimeout<T: Sendable>(
    _ timeout: Duration, onTimeout: @escaping @Sendable () async -> Void = {},
    throwing operation: @escaping @Sendable () async throws -> T
) async throws -> T? {
    let result = await withTimeout(timeout, onTimeout: onTimeout) { () async -> Result<T, any Error> in
        do { return .success(try await operation()) } catch { return .failure(error) }
    }
    return try result?.get()
}
