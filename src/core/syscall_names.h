// The x86-64 syscall numbers and their kernel names, as data the syscall
// table's rows are built from at compile time (a row names its syscall, and
// a misspelt name fails the build). Kept apart from the table because it is
// generated, not written.
#pragma once

#include <iterator>
#include <string_view>

namespace rr::syscall_names {

// Every x86-64 syscall name, indexed by number. Generated from
// <asm/unistd_64.h> (Linux 6.1); 451..470 added from the kernel's
// syscall_64.tbl up to Linux 6.18. 512..547 are x32-only and left out.
inline constexpr const char* kNames[] = {
    /*   0 */ "read", "write", "open", "close",
    /*   4 */ "stat", "fstat", "lstat", "poll",
    /*   8 */ "lseek", "mmap", "mprotect", "munmap",
    /*  12 */ "brk", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
    /*  16 */ "ioctl", "pread64", "pwrite64", "readv",
    /*  20 */ "writev", "access", "pipe", "select",
    /*  24 */ "sched_yield", "mremap", "msync", "mincore",
    /*  28 */ "madvise", "shmget", "shmat", "shmctl",
    /*  32 */ "dup", "dup2", "pause", "nanosleep",
    /*  36 */ "getitimer", "alarm", "setitimer", "getpid",
    /*  40 */ "sendfile", "socket", "connect", "accept",
    /*  44 */ "sendto", "recvfrom", "sendmsg", "recvmsg",
    /*  48 */ "shutdown", "bind", "listen", "getsockname",
    /*  52 */ "getpeername", "socketpair", "setsockopt", "getsockopt",
    /*  56 */ "clone", "fork", "vfork", "execve",
    /*  60 */ "exit", "wait4", "kill", "uname",
    /*  64 */ "semget", "semop", "semctl", "shmdt",
    /*  68 */ "msgget", "msgsnd", "msgrcv", "msgctl",
    /*  72 */ "fcntl", "flock", "fsync", "fdatasync",
    /*  76 */ "truncate", "ftruncate", "getdents", "getcwd",
    /*  80 */ "chdir", "fchdir", "rename", "mkdir",
    /*  84 */ "rmdir", "creat", "link", "unlink",
    /*  88 */ "symlink", "readlink", "chmod", "fchmod",
    /*  92 */ "chown", "fchown", "lchown", "umask",
    /*  96 */ "gettimeofday", "getrlimit", "getrusage", "sysinfo",
    /* 100 */ "times", "ptrace", "getuid", "syslog",
    /* 104 */ "getgid", "setuid", "setgid", "geteuid",
    /* 108 */ "getegid", "setpgid", "getppid", "getpgrp",
    /* 112 */ "setsid", "setreuid", "setregid", "getgroups",
    /* 116 */ "setgroups", "setresuid", "getresuid", "setresgid",
    /* 120 */ "getresgid", "getpgid", "setfsuid", "setfsgid",
    /* 124 */ "getsid", "capget", "capset", "rt_sigpending",
    /* 128 */ "rt_sigtimedwait", "rt_sigqueueinfo", "rt_sigsuspend", "sigaltstack",
    /* 132 */ "utime", "mknod", "uselib", "personality",
    /* 136 */ "ustat", "statfs", "fstatfs", "sysfs",
    /* 140 */ "getpriority", "setpriority", "sched_setparam", "sched_getparam",
    /* 144 */ "sched_setscheduler", "sched_getscheduler", "sched_get_priority_max", "sched_get_priority_min",
    /* 148 */ "sched_rr_get_interval", "mlock", "munlock", "mlockall",
    /* 152 */ "munlockall", "vhangup", "modify_ldt", "pivot_root",
    /* 156 */ "_sysctl", "prctl", "arch_prctl", "adjtimex",
    /* 160 */ "setrlimit", "chroot", "sync", "acct",
    /* 164 */ "settimeofday", "mount", "umount2", "swapon",
    /* 168 */ "swapoff", "reboot", "sethostname", "setdomainname",
    /* 172 */ "iopl", "ioperm", "create_module", "init_module",
    /* 176 */ "delete_module", "get_kernel_syms", "query_module", "quotactl",
    /* 180 */ "nfsservctl", "getpmsg", "putpmsg", "afs_syscall",
    /* 184 */ "tuxcall", "security", "gettid", "readahead",
    /* 188 */ "setxattr", "lsetxattr", "fsetxattr", "getxattr",
    /* 192 */ "lgetxattr", "fgetxattr", "listxattr", "llistxattr",
    /* 196 */ "flistxattr", "removexattr", "lremovexattr", "fremovexattr",
    /* 200 */ "tkill", "time", "futex", "sched_setaffinity",
    /* 204 */ "sched_getaffinity", "set_thread_area", "io_setup", "io_destroy",
    /* 208 */ "io_getevents", "io_submit", "io_cancel", "get_thread_area",
    /* 212 */ "lookup_dcookie", "epoll_create", "epoll_ctl_old", "epoll_wait_old",
    /* 216 */ "remap_file_pages", "getdents64", "set_tid_address", "restart_syscall",
    /* 220 */ "semtimedop", "fadvise64", "timer_create", "timer_settime",
    /* 224 */ "timer_gettime", "timer_getoverrun", "timer_delete", "clock_settime",
    /* 228 */ "clock_gettime", "clock_getres", "clock_nanosleep", "exit_group",
    /* 232 */ "epoll_wait", "epoll_ctl", "tgkill", "utimes",
    /* 236 */ "vserver", "mbind", "set_mempolicy", "get_mempolicy",
    /* 240 */ "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive",
    /* 244 */ "mq_notify", "mq_getsetattr", "kexec_load", "waitid",
    /* 248 */ "add_key", "request_key", "keyctl", "ioprio_set",
    /* 252 */ "ioprio_get", "inotify_init", "inotify_add_watch", "inotify_rm_watch",
    /* 256 */ "migrate_pages", "openat", "mkdirat", "mknodat",
    /* 260 */ "fchownat", "futimesat", "newfstatat", "unlinkat",
    /* 264 */ "renameat", "linkat", "symlinkat", "readlinkat",
    /* 268 */ "fchmodat", "faccessat", "pselect6", "ppoll",
    /* 272 */ "unshare", "set_robust_list", "get_robust_list", "splice",
    /* 276 */ "tee", "sync_file_range", "vmsplice", "move_pages",
    /* 280 */ "utimensat", "epoll_pwait", "signalfd", "timerfd_create",
    /* 284 */ "eventfd", "fallocate", "timerfd_settime", "timerfd_gettime",
    /* 288 */ "accept4", "signalfd4", "eventfd2", "epoll_create1",
    /* 292 */ "dup3", "pipe2", "inotify_init1", "preadv",
    /* 296 */ "pwritev", "rt_tgsigqueueinfo", "perf_event_open", "recvmmsg",
    /* 300 */ "fanotify_init", "fanotify_mark", "prlimit64", "name_to_handle_at",
    /* 304 */ "open_by_handle_at", "clock_adjtime", "syncfs", "sendmmsg",
    /* 308 */ "setns", "getcpu", "process_vm_readv", "process_vm_writev",
    /* 312 */ "kcmp", "finit_module", "sched_setattr", "sched_getattr",
    /* 316 */ "renameat2", "seccomp", "getrandom", "memfd_create",
    /* 320 */ "kexec_file_load", "bpf", "execveat", "userfaultfd",
    /* 324 */ "membarrier", "mlock2", "copy_file_range", "preadv2",
    /* 328 */ "pwritev2", "pkey_mprotect", "pkey_alloc", "pkey_free",
    /* 332 */ "statx", "io_pgetevents", "rseq",
    /* 335 */ nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
    /* 345 */ nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
    /* 355 */ nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
    /* 365 */ nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
    /* 375 */ nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
    /* 385 */ nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
    /* 395 */ nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
    /* 405 */ nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
    /* 415 */ nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
    /* 424 */ "pidfd_send_signal", "io_uring_setup", "io_uring_enter", "io_uring_register",
    /* 428 */ "open_tree", "move_mount", "fsopen", "fsconfig",
    /* 432 */ "fsmount", "fspick", "pidfd_open", "clone3",
    /* 436 */ "close_range", "openat2", "pidfd_getfd", "faccessat2",
    /* 440 */ "process_madvise", "epoll_pwait2", "mount_setattr", "quotactl_fd",
    /* 444 */ "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self", "memfd_secret",
    /* 448 */ "process_mrelease", "futex_waitv", "set_mempolicy_home_node", "cachestat",
    /* 452 */ "fchmodat2", "map_shadow_stack", "futex_wake", "futex_wait",
    /* 456 */ "futex_requeue", "statmount", "listmount", "lsm_get_self_attr",
    /* 460 */ "lsm_set_self_attr", "lsm_list_modules", "mseal", "setxattrat",
    /* 464 */ "getxattrat", "listxattrat", "removexattrat", "open_tree_attr",
    /* 468 */ "file_getattr", "file_setattr", "listns",
};
inline constexpr int kNameCount = static_cast<int>(std::size(kNames));

consteval int nr_of(std::string_view name) {
  for (int nr = 0; nr < kNameCount; ++nr) {
    if (kNames[nr] != nullptr && name == kNames[nr]) return nr;
  }
  throw "not an x86-64 syscall name";
}

}  // namespace rr::syscall_names
