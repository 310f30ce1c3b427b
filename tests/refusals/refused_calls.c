/* refused_calls CASE: calls recording cannot follow.
 *   vm_writev: process_vm_writev into a forked child (another process's
 *              memory changes with no event of its own);
 *   mmap_bpf:  a mapping of a BPF array map (the kernel and BPF programs
 *              change it; replay has no map to show);
 *   set_tsc:   prctl(PR_SET_TSC), which would undo the recorder's rdtsc
 *              trap.
 * Each prints "after" only when the call returned, which a refused call
 * must never do. */
#define _GNU_SOURCE
#include <linux/bpf.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static char target[16] = "unchanged";

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "vm_writev") == 0) {
        pid_t child = fork();
        if (child == 0) {
            pause();
            return 0;
        }
        struct iovec local = {(void *)"changed", 8}, remote = {target, 8};
        long n = process_vm_writev(child, &local, 1, &remote, 1, 0);
        printf("after: %ld\n", n);
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "mmap_bpf") == 0) {
        union bpf_attr attr;
        memset(&attr, 0, sizeof attr);
        attr.map_type = BPF_MAP_TYPE_ARRAY;
        attr.key_size = 4;
        attr.value_size = 8;
        attr.max_entries = 512;
        attr.map_flags = BPF_F_MMAPABLE;
        long map = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
        if (map < 0) {
            perror("bpf MAP_CREATE");
            return 2;
        }
        void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, (int)map, 0);
        printf("after: %s\n", p == MAP_FAILED ? "failed" : "mapped");
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "set_tsc") == 0) {
        int r = prctl(PR_SET_TSC, PR_TSC_ENABLE, 0, 0, 0);
        printf("after: %d\n", r);
        return 0;
    }
    fprintf(stderr, "usage: refused_calls vm_writev|mmap_bpf|set_tsc\n");
    return 2;
}
