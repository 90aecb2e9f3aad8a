#if canImport(Glibc)
    import Glibc
#endif

/// Ties every sandbox to the worker that started it, however the worker ends (SIGKILL included): a pipe
/// whose write end only this process holds and never writes to. Each launcher gets the read end as
/// descriptor 3 (`--lifeline 3`); when this process is gone the kernel closes the write end, the read
/// end reports EOF, and the launcher kills its sandbox. (`PR_SET_PDEATHSIG` would follow the thread that
/// spawned the launcher, and threads of the cooperative pool come and go.)
public enum Lifeline {
    /// The read end, passed to every launcher as descriptor 3. Both ends are close-on-exec here.
    public static let readEnd: Int32 = {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return -1 }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return fds[0]
    }()

    /// Where the launcher finds it.
    public static let launcherDescriptor: Int32 = 3
}
