// sluice-sandbox: starts one function process inside a Linux sandbox.
//
// A single-threaded launcher (no librdkafka thread ever lives in a sandboxed process): the worker spawns
// it with the policy as arguments and the function's clean environment. In order it
//   1. joins the sandbox's cgroups (the worker created them and set the limits),
//   2. unshares pid, mount, ipc, uts, cgroup and (unless --net host) network namespaces,
//   3. forks the namespace's init (pid 1), which builds a minimal root on a tmpfs — /usr and the bound
//      files read-only, the code at /code and the runtime at /runtime read-only, a private /tmp of
//      --tmp-mb, a fresh /proc, /dev with null/zero/urandom only — and pivots into it,
//   4. forks the function process, which sets rlimits, drops every capability, becomes --uid/--gid,
//      sets no_new_privs, loads the seccomp filter and execs the program.
// Init reaps orphans and ends when the function process ends; the launcher then ends the same way
// (same exit status, or the same signal). Killing the launcher kills init (PDEATHSIG), and with it
// everything in the namespace. The worker kills a whole sandbox through its cgroup; a worker that dies
// (even by SIGKILL) closes the write end of the --lifeline pipe, and the launcher then kills init.
//
// Usage: sluice-sandbox [options] -- PROGRAM [ARG...]   (see usage() below; docs/sandbox.md)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <linux/capability.h>
#include <sched.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_LIST 32

struct policy {
    const char *cgroup_procs[MAX_LIST];
    int cgroup_count;
    const char *ro_files[MAX_LIST];  // host files bound read-only at the same path (under /etc)
    int ro_file_count;
    const char *root;     // an empty host directory to build the root on
    const char *code;     // bound read-only at /code
    const char *runtime;  // bound read-only at /runtime (optional)
    const char *deps;     // bound read-only at /deps (optional: the function's dependencies artifact)
    long tmp_mb;
    int host_network;
    long nofile;
    long fsize_mb;
    const char *seccomp_cache;  // where the compiled filter is kept (optional)
    int lifeline;  // read end of a pipe only the worker writes to: EOF = the worker is gone (-1: none)
    int standby;   // wait for one byte on stdin before the exec (a sandbox made ahead, docs/sandbox.md)
    uid_t uid;
    gid_t gid;
    char **argv;
};

static void die(const char *format, ...) {
    va_list args;
    va_start(args, format);
    fputs("sluice-sandbox: ", stderr);
    vfprintf(stderr, format, args);
    if (errno) fprintf(stderr, ": %s", strerror(errno));
    fputc('\n', stderr);
    va_end(args);
    _exit(125);
}

static void usage(void) {
    fputs("usage: sluice-sandbox --root DIR --code DIR [--runtime DIR] [--deps DIR] [--cgroup-procs FILE]... [--ro-file PATH]...\n"
          "                      [--tmp-mb N] [--net none|host] [--nofile N] [--fsize-mb N] [--uid N] [--gid N]\n"
          "                      [--lifeline FD] [--seccomp-cache DIR] [--standby yes]\n"
          "                      -- PROGRAM [ARG...]\n",
          stderr);
    _exit(125);
}

static void write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) die("open %s", path);
    size_t length = strlen(text);
    if (write(fd, text, length) != (ssize_t)length) die("write %s", path);
    close(fd);
}

static void join_cgroups(const struct policy *p) {
    char pid[32];
    snprintf(pid, sizeof pid, "%d\n", getpid());
    for (int i = 0; i < p->cgroup_count; i++) write_file(p->cgroup_procs[i], pid);
}

static void path_join(char *out, size_t size, const char *a, const char *b) {
    if ((size_t)snprintf(out, size, "%s%s", a, b) >= size) {
        errno = ENAMETOOLONG;
        die("path %s%s", a, b);
    }
}

// Bind `source` at `target` (created as a directory or an empty file), then make the bind read-only.
static void bind_readonly(const char *source, const char *target) {
    struct stat info;
    if (stat(source, &info) != 0) die("stat %s", source);
    if (S_ISDIR(info.st_mode)) {
        if (mkdir(target, 0755) != 0 && errno != EEXIST) die("mkdir %s", target);
    } else {
        int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) die("create %s", target);
        close(fd);
    }
    if (mount(source, target, NULL, MS_BIND | MS_REC, NULL) != 0) die("bind %s", source);
    // Read-only with every mount below it: a remount with MS_REC changes only the top mount.
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
    if (syscall(SYS_mount_setattr, AT_FDCWD, target, AT_RECURSIVE, &attr, sizeof attr) == 0) return;
    if (errno != ENOSYS) die("make %s read-only", target);
    // Kernels before 5.12: the top mount only (the code store and the runtime have no mounts below).
    if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) != 0)
        die("remount %s read-only", target);
}

// /bin, /lib… are symlinks into /usr on merged-/usr systems: copy the link, else bind the directory.
static void top_level(const char *root, const char *name) {
    char host[64], target[4096], link[256];
    snprintf(host, sizeof host, "/%s", name);
    path_join(target, sizeof target, root, host);
    ssize_t length = readlink(host, link, sizeof link - 1);
    if (length > 0) {
        link[length] = 0;
        if (symlink(link, target) != 0) die("symlink %s", target);
    } else if (access(host, F_OK) == 0) {
        bind_readonly(host, target);
    }
}

static void copy_file(const char *source, const char *target, off_t size) {
    int in = open(source, O_RDONLY | O_CLOEXEC);
    if (in < 0) die("open %s", source);
    int out = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) die("create %s", target);
    char buffer[65536];
    off_t copied = 0;
    while (copied < size) {
        ssize_t got = read(in, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        if (write(out, buffer, (size_t)got) != got) die("write %s", target);
        copied += got;
    }
    close(in);
    close(out);
}

static void make_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) die("create %s", path);
    size_t length = strlen(text);
    if (write(fd, text, length) != (ssize_t)length) die("write %s", path);
    close(fd);
}

static void build_root(const struct policy *p) {
    char path[4096], options[64];
    const char *root = p->root;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) die("make mounts private");
    if (mount("sluice-root", root, "tmpfs", MS_NOSUID, "size=4m,mode=0755") != 0) die("mount root tmpfs on %s", root);

    path_join(path, sizeof path, root, "/usr");
    bind_readonly("/usr", path);
    top_level(root, "bin");
    top_level(root, "sbin");
    top_level(root, "lib");
    top_level(root, "lib64");

    path_join(path, sizeof path, root, "/etc");
    if (mkdir(path, 0755) != 0) die("mkdir %s", path);
    for (int i = 0; i < p->ro_file_count; i++) {
        struct stat info;
        if (stat(p->ro_files[i], &info) != 0) continue;
        path_join(path, sizeof path, root, p->ro_files[i]);
        // Regular files are copied (the root turns read-only below): cheaper than a bind and a remount.
        if (S_ISREG(info.st_mode)) copy_file(p->ro_files[i], path, info.st_size);
        else bind_readonly(p->ro_files[i], path);
    }
    char line[256];
    path_join(path, sizeof path, root, "/etc/passwd");
    snprintf(line, sizeof line, "root:x:0:0::/:/usr/sbin/nologin\nsandbox:x:%u:%u::/tmp:/usr/sbin/nologin\n", p->uid, p->gid);
    make_file(path, line);
    path_join(path, sizeof path, root, "/etc/group");
    snprintf(line, sizeof line, "root:x:0:\nsandbox:x:%u:\n", p->gid);
    make_file(path, line);
    path_join(path, sizeof path, root, "/etc/hostname");
    make_file(path, "sandbox\n");

    path_join(path, sizeof path, root, "/code");
    bind_readonly(p->code, path);
    if (p->runtime) {
        path_join(path, sizeof path, root, "/runtime");
        bind_readonly(p->runtime, path);
    }
    if (p->deps) {
        path_join(path, sizeof path, root, "/deps");
        bind_readonly(p->deps, path);
    }

    path_join(path, sizeof path, root, "/tmp");
    if (mkdir(path, 01777) != 0) die("mkdir %s", path);
    snprintf(options, sizeof options, "size=%ldm,mode=1777", p->tmp_mb);
    if (mount("sluice-tmp", path, "tmpfs", MS_NOSUID | MS_NODEV, options) != 0) die("mount /tmp (%s)", options);

    path_join(path, sizeof path, root, "/proc");
    if (mkdir(path, 0555) != 0) die("mkdir %s", path);
    if (mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) die("mount /proc");

    path_join(path, sizeof path, root, "/dev");
    if (mkdir(path, 0755) != 0) die("mkdir %s", path);
    const char *devices[] = {"/dev/null", "/dev/zero", "/dev/urandom"};
    for (size_t i = 0; i < sizeof devices / sizeof *devices; i++) {
        path_join(path, sizeof path, root, devices[i]);
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0) die("create %s", path);
        close(fd);
        if (mount(devices[i], path, NULL, MS_BIND, NULL) != 0) die("bind %s", devices[i]);
        if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NOEXEC, NULL) != 0) die("remount %s", devices[i]);
    }
    const char *links[][2] = {{"/proc/self/fd", "/dev/fd"}, {"/proc/self/fd/0", "/dev/stdin"},
                              {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"},
                              {"/tmp", "/dev/shm"}};  // POSIX shared memory and semaphores, within tmp_mb
    for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
        path_join(path, sizeof path, root, links[i][1]);
        if (symlink(links[i][0], path) != 0) die("symlink %s", path);
    }

    path_join(path, sizeof path, root, "/.old-root");
    if (mkdir(path, 0700) != 0) die("mkdir %s", path);
    if (chdir(root) != 0) die("chdir %s", root);
    if (syscall(SYS_pivot_root, ".", ".old-root") != 0) die("pivot_root");
    if (chdir("/") != 0) die("chdir /");
    if (umount2("/.old-root", MNT_DETACH) != 0) die("detach the old root");
    if (rmdir("/.old-root") != 0) die("rmdir /.old-root");
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID, NULL) != 0) die("remount / read-only");
    if (sethostname("sandbox", 7) != 0) die("sethostname");
}

// An allow list: the calls CPython and common exec'd programs make (docs/sandbox.md lists them and how
// they were measured). Everything else fails with ENOSYS, as a call the kernel does not have would, so
// a call added to the kernel later is refused too. The dangerous ones are named anyway, with EPERM or a
// kill: the reason reads in the source, and a name put in both lists makes every sandbox start fail
// (libseccomp refuses two actions for one call), so a mistaken addition cannot let one through.
static const char *const allowed_calls[] = {
    // files and descriptors
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2",
    "open", "openat", "openat2", "creat", "close", "close_range", "lseek", "dup", "dup2", "dup3", "fcntl",
    "ioctl", "flock", "fsync", "fdatasync", "sync", "syncfs", "sync_file_range", "ftruncate", "truncate",
    "fallocate", "fadvise64", "readahead", "sendfile", "copy_file_range", "splice", "tee", "vmsplice",
    "stat", "fstat", "lstat", "newfstatat", "statx", "statfs", "fstatfs", "access", "faccessat", "faccessat2",
    "readlink", "readlinkat", "getdents", "getdents64", "getcwd", "chdir", "fchdir", "mkdir", "mkdirat",
    "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat",
    "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "fchownat", "lchown", "umask", "utime",
    "utimes", "utimensat", "futimesat", "getxattr", "lgetxattr", "fgetxattr", "listxattr", "llistxattr",
    "flistxattr", "setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr",
    "pipe", "pipe2", "memfd_create", "eventfd", "eventfd2", "signalfd", "signalfd4", "timerfd_create",
    "timerfd_settime", "timerfd_gettime", "inotify_init", "inotify_init1", "inotify_add_watch",
    "inotify_rm_watch",
    // waiting for descriptors
    "poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait",
    "epoll_pwait", "epoll_pwait2",
    // memory
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "msync", "mincore", "mlock", "mlock2",
    "munlock", "mlockall", "munlockall", "membarrier",
    // processes and threads (clone is allowed below, without namespace flags)
    "execve", "execveat", "fork", "vfork", "exit", "exit_group", "wait4", "waitid", "kill", "tkill", "tgkill",
    "getpid", "getppid", "gettid", "getpgid", "getpgrp", "setpgid", "getsid", "setsid", "getuid", "geteuid",
    "getgid", "getegid", "getresuid", "getresgid", "getgroups", "setuid", "setgid", "setreuid", "setregid",
    "setresuid", "setresgid", "setgroups", "setfsuid", "setfsgid", "capget", "capset", "prctl", "arch_prctl",
    "set_tid_address", "set_robust_list", "get_robust_list", "rseq", "futex", "futex_waitv",
    "sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getparam", "sched_setparam",
    "sched_getscheduler", "sched_setscheduler", "sched_get_priority_max", "sched_get_priority_min",
    "sched_rr_get_interval", "sched_getattr", "sched_setattr", "getpriority", "setpriority", "ioprio_get",
    "ioprio_set", "getrlimit", "setrlimit", "prlimit64", "getrusage", "times", "getcpu", "pidfd_open",
    "pidfd_send_signal", "seccomp", "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
    // signals
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaltstack", "pause", "alarm",
    // time
    "nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres", "gettimeofday", "time", "getitimer",
    "setitimer", "timer_create", "timer_settime", "timer_gettime", "timer_getoverrun", "timer_delete",
    // sockets (the network namespace has no interface unless network: host)
    "socket", "socketpair", "bind", "connect", "listen", "accept", "accept4", "getsockname", "getpeername",
    "getsockopt", "setsockopt", "shutdown", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
    // System V and POSIX IPC (the sandbox's own ipc namespace)
    "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl", "msgget", "msgsnd",
    "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
    // about the system
    "uname", "sysinfo", "getrandom", "restart_syscall",
};

// Refused with EPERM whatever the list says: escape, other processes, the kernel's attack surface.
static const char *const refused_calls[] = {
    "io_uring_setup", "io_uring_enter", "io_uring_register", "bpf", "perf_event_open", "userfaultfd", "keyctl",
    "add_key", "request_key", "open_by_handle_at", "name_to_handle_at", "process_vm_readv", "process_vm_writev",
    "process_madvise", "pidfd_getfd", "ptrace", "kcmp", "mount", "umount2", "pivot_root", "chroot", "setns",
    "unshare", "fsopen", "fsconfig", "fsmount", "move_mount", "open_tree", "fspick", "mount_setattr",
    "swapon", "swapoff", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "syslog", "acct",
    "quotactl", "quotactl_fd", "vhangup", "lookup_dcookie", "iopl", "ioperm", "personality", "mknod", "mknodat",
    "fanotify_init", "fanotify_mark", "memfd_secret", "io_setup", "io_submit", "io_getevents", "io_pgetevents",
    "io_cancel", "io_destroy", "mbind", "set_mempolicy", "get_mempolicy", "move_pages", "migrate_pages",
    "modify_ldt", "uselib", "sethostname", "setdomainname", "nfsservctl", "remap_file_pages", "sysfs", "ustat",
};

// Kill the process at once: no function has a reason to try.
static const char *const killing_calls[] = {
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
};

static void add_rules(scmp_filter_ctx filter, const char *const *names, size_t count, uint32_t action) {
    for (size_t i = 0; i < count; i++) {
        int number = seccomp_syscall_resolve_name(names[i]);
        if (number == __NR_SCMP_ERROR) continue;  // not a call of this architecture
        if (seccomp_rule_add(filter, action, number, 0) != 0) die("seccomp rule %s", names[i]);
    }
}

#define COUNT(array) (sizeof array / sizeof *array)

// The filter as libseccomp builds it (a binary tree of the calls: a lookup per syscall takes a few
// comparisons, not one per rule).
static scmp_filter_ctx build_filter(void) {
    scmp_filter_ctx filter = seccomp_init(SCMP_ACT_ERRNO(ENOSYS));
    if (!filter) die("seccomp_init");
    if (seccomp_attr_set(filter, SCMP_FLTATR_CTL_OPTIMIZE, 2) != 0) die("seccomp binary tree");
    add_rules(filter, allowed_calls, COUNT(allowed_calls), SCMP_ACT_ALLOW);
    add_rules(filter, refused_calls, COUNT(refused_calls), SCMP_ACT_ERRNO(EPERM));
    add_rules(filter, killing_calls, COUNT(killing_calls), SCMP_ACT_KILL_PROCESS);
    // clone without a namespace flag (unprivileged user namespaces would otherwise work).
    unsigned long namespaces =
        CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
    if (seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, namespaces, 0)) != 0)
        die("seccomp rule clone");
    for (unsigned long flag = 1; flag != 0; flag <<= 1) {
        if (!(namespaces & flag)) continue;
        if (seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag)) != 0)
            die("seccomp rule clone");
    }
    // clone3 passes its flags in memory the filter cannot read: ENOSYS (the default) makes libc fall back
    // to clone, whose flags it can.
    return filter;
}

// The compiled program (BPF), read or built before the root is pivoted and loaded after the function
// process dropped its privileges.
static struct sock_filter *filter_program;
static unsigned short filter_length;

static int read_program(int fd, off_t size) {
    if (size <= 0 || size > 65536 || size % (off_t)sizeof(struct sock_filter) != 0) return -1;
    filter_program = malloc((size_t)size);
    if (!filter_program) return -1;
    off_t got = 0;
    while (got < size) {
        ssize_t count = pread(fd, (char *)filter_program + got, (size_t)(size - got), got);
        if (count < 0 && errno == EINTR) continue;
        if (count <= 0) return -1;
        got += count;
    }
    filter_length = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
    return 0;
}

// Compiling the filter with libseccomp costs a few milliseconds per sandbox start, so the program is
// kept in `cache_dir`, named after this launcher binary (a new build makes a new file). The cache is
// used only if root owns it and nobody else can write it; anything wrong with it means compiling anew.
static void prepare_seccomp(const char *cache_dir) {
    char path[4096] = "";
    struct stat self;
    if (cache_dir && stat("/proc/self/exe", &self) == 0) {
        snprintf(path, sizeof path, "%s/seccomp-%lx-%lx-%lx.bpf", cache_dir, (unsigned long)self.st_size,
                 (unsigned long)self.st_mtim.tv_sec, (unsigned long)self.st_mtim.tv_nsec);
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        struct stat info;
        if (fd >= 0 && fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_uid == 0 &&
            !(info.st_mode & (S_IWGRP | S_IWOTH)) && read_program(fd, info.st_size) == 0) {
            close(fd);
            return;
        }
        if (fd >= 0) close(fd);
        free(filter_program);
        filter_program = NULL;
    }
    scmp_filter_ctx filter = build_filter();
    char staging[4200];
    snprintf(staging, sizeof staging, "%s.%d", path[0] ? path : "/tmp/sluice-seccomp", getpid());
    int fd = open(staging, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) die("create %s", staging);
    if (seccomp_export_bpf(filter, fd) != 0) die("seccomp_export_bpf");
    seccomp_release(filter);
    struct stat info;
    if (fstat(fd, &info) != 0 || read_program(fd, info.st_size) != 0) die("read the seccomp program back");
    close(fd);
    // Whoever renames last wins; both programs are the same.
    if (!path[0] || rename(staging, path) != 0) unlink(staging);
}

static void load_seccomp(void) {
    struct sock_fprog program = {.len = filter_length, .filter = filter_program};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0) die("load the seccomp filter");
}

static void drop_privileges(const struct policy *p) {
    struct rlimit limit;
    limit.rlim_cur = limit.rlim_max = (rlim_t)p->nofile;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) die("RLIMIT_NOFILE");
    limit.rlim_cur = limit.rlim_max = (rlim_t)p->fsize_mb << 20;
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) die("RLIMIT_FSIZE");
    limit.rlim_cur = limit.rlim_max = 0;
    if (setrlimit(RLIMIT_CORE, &limit) != 0) die("RLIMIT_CORE");
    for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) die("drop capability %d", cap);
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) die("clear ambient capabilities");
    if (setgroups(0, NULL) != 0) die("setgroups");
    if (setresgid(p->gid, p->gid, p->gid) != 0) die("setresgid %u", p->gid);
    if (setresuid(p->uid, p->uid, p->uid) != 0) die("setresuid %u", p->uid);
    // Changing to a non-zero uid cleared the permitted and effective sets; make sure.
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2] = {{0}};
    if (p->uid != 0 && syscall(SYS_capset, &header, data) != 0) die("capset");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die("no_new_privs");
}

// A sandbox made ahead stops here, everything but the exec done: its function process is already
// unprivileged and filtered. One byte on stdin starts the program; the end of stdin ends the sandbox.
static void wait_for_go(void) {
    char go;
    ssize_t got;
    do got = read(0, &go, 1);
    while (got < 0 && errno == EINTR);
    if (got != 1) _exit(0);
}

// pid 1 of the namespace: reaps everything, ends when the function process ends, and reports its raw
// wait status to the launcher through `report`.
static void run_init(const struct policy *p, int report) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) die("PDEATHSIG");
    build_root(p);
    pid_t function = fork();
    if (function < 0) die("fork");
    if (function == 0) {
        close(report);
        signal(SIGPIPE, SIG_DFL);
        if (chdir("/code") != 0) die("chdir /code");
        drop_privileges(p);
        load_seccomp();
        if (p->standby) wait_for_go();
        execvp(p->argv[0], p->argv);
        die("exec %s", p->argv[0]);
    }
    // Init keeps no end of the function's pipes: EOF must follow the function's own end.
    close(0);
    close(1);
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0 && fd != 0) close(fd);
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR) continue;
            _exit(125);
        }
        if (pid == function) {
            (void)!write(report, &status, sizeof status);
            _exit(0);  // the kernel kills whatever else still runs in the namespace
        }
    }
}

static pid_t init_pid;

static void forward(int signal_number) {
    (void)signal_number;
    if (init_pid > 0) kill(init_pid, SIGKILL);
}

// Waits until the report pipe has something (or its end), killing init first if the worker is gone:
// a worker killed with SIGKILL takes its sandboxes with it (its lifeline pipe reads EOF).
static void wait_for_report_or_orphaning(int report, int lifeline) {
    if (lifeline < 0) return;
    struct pollfd fds[2] = {{.fd = report, .events = POLLIN}, {.fd = lifeline, .events = POLLIN}};
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return;
        }
        if (fds[0].revents) return;
        if (fds[1].revents) {
            if (init_pid > 0) kill(init_pid, SIGKILL);
            return;
        }
    }
}

int main(int argc, char **argv) {
    struct policy p = {.tmp_mb = 64, .nofile = 256, .fsize_mb = 1024, .uid = 65534, .gid = 65534, .lifeline = -1};
    int i = 1;
    while (i < argc) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (!value) usage();
        if (strcmp(arg, "--cgroup-procs") == 0 && p.cgroup_count < MAX_LIST) p.cgroup_procs[p.cgroup_count++] = value;
        else if (strcmp(arg, "--ro-file") == 0 && p.ro_file_count < MAX_LIST) p.ro_files[p.ro_file_count++] = value;
        else if (strcmp(arg, "--root") == 0) p.root = value;
        else if (strcmp(arg, "--code") == 0) p.code = value;
        else if (strcmp(arg, "--runtime") == 0) p.runtime = value;
        else if (strcmp(arg, "--deps") == 0) p.deps = value;
        else if (strcmp(arg, "--tmp-mb") == 0) p.tmp_mb = atol(value);
        else if (strcmp(arg, "--net") == 0) p.host_network = strcmp(value, "host") == 0;
        else if (strcmp(arg, "--nofile") == 0) p.nofile = atol(value);
        else if (strcmp(arg, "--fsize-mb") == 0) p.fsize_mb = atol(value);
        else if (strcmp(arg, "--uid") == 0) p.uid = (uid_t)atol(value);
        else if (strcmp(arg, "--gid") == 0) p.gid = (gid_t)atol(value);
        else if (strcmp(arg, "--lifeline") == 0) p.lifeline = atoi(value);
        else if (strcmp(arg, "--seccomp-cache") == 0) p.seccomp_cache = value;
        else if (strcmp(arg, "--standby") == 0) p.standby = strcmp(value, "yes") == 0;
        else usage();
        i += 2;
    }
    if (i >= argc || !p.root || !p.code || p.tmp_mb <= 0 || p.nofile <= 0 || p.fsize_mb <= 0) usage();
    p.argv = argv + i;
    if (p.lifeline >= 0 && fcntl(p.lifeline, F_GETFD) < 0) die("--lifeline %d is not an open descriptor", p.lifeline);

    prepare_seccomp(p.seccomp_cache);
    join_cgroups(&p);
    int flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP | (p.host_network ? 0 : CLONE_NEWNET);
    if (unshare(flags) != 0) die("unshare namespaces");
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) die("pipe");
    init_pid = fork();
    if (init_pid < 0) die("fork init");
    if (init_pid == 0) {
        close(report[0]);
        if (p.lifeline >= 0) close(p.lifeline);
        run_init(&p, report[1]);
    }
    close(report[1]);
    signal(SIGTERM, forward);
    signal(SIGINT, forward);
    signal(SIGHUP, forward);
    // The launcher keeps no end of the function's pipes either.
    close(0);
    close(1);
    int status = 0;
    ssize_t got;
    wait_for_report_or_orphaning(report[0], p.lifeline);
    do got = read(report[0], &status, sizeof status);
    while (got < 0 && errno == EINTR);
    int init_status;
    while (waitpid(init_pid, &init_status, 0) < 0 && errno == EINTR) {}
    if (got != sizeof status) {
        // Init died before the function ended (killed, or the sandbox could not be built).
        if (WIFEXITED(init_status)) return WEXITSTATUS(init_status);
        status = init_status;
    }
    if (WIFSIGNALED(status)) {
        int number = WTERMSIG(status);
        signal(number, SIG_DFL);
        struct rlimit none = {0, 0};
        setrlimit(RLIMIT_CORE, &none);
        kill(getpid(), number);
        return 128 + number;
    }
    return WEXITSTATUS(status);
}
