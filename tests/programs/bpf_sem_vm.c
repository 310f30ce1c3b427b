/* bpf_sem_vm: syscalls whose output sizes the recorder must ask the kernel
 * for. bpf: a hash map (create, update, lookup, next key, info), a
 * program the verifier rejects (its log, written on failure) and one it
 * loads, a BTF blob it refuses (its log); semctl GETALL of a three-semaphore set (the set's size is the
 * kernel's); process_vm_readv and process_vm_writev on the process
 * itself, one range ending at an unmapped page (a partial transfer).
 * Buffers are filled with a guard byte and printed whole, so a byte the
 * kernel wrote and the recording missed shows in replay. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "show.h"

static long bpf(int cmd, union bpf_attr *attr, unsigned size)
{
    return syscall(SYS_bpf, cmd, attr, size);
}

static void bpf_map(void)
{
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_type = BPF_MAP_TYPE_HASH;
    attr.key_size = 4;
    attr.value_size = 12;
    attr.max_entries = 4;
    int map = (int)bpf(BPF_MAP_CREATE, &attr, sizeof attr);
    if (map < 0) {
        /* No CAP_BPF here: nothing more to show, in any run. */
        printf("bpf MAP_CREATE: errno %d\n", errno);
        return;
    }
    printf("bpf MAP_CREATE: a descriptor\n");
    uint32_t key = 7;
    char value[12] = "eleven byte";
    memset(&attr, 0, sizeof attr);
    attr.map_fd = map;
    attr.key = (uintptr_t)&key;
    attr.value = (uintptr_t)value;
    result("bpf MAP_UPDATE_ELEM", bpf(BPF_MAP_UPDATE_ELEM, &attr, sizeof attr));
    char out[16];
    memset(out, '#', sizeof out);
    attr.value = (uintptr_t)out;
    result("bpf MAP_LOOKUP_ELEM", bpf(BPF_MAP_LOOKUP_ELEM, &attr, sizeof attr));
    dump("  value", out, sizeof out);
    uint32_t missing = 1, next[2] = {0x23232323, 0x23232323};
    attr.key = (uintptr_t)&missing;
    attr.next_key = (uintptr_t)next;
    result("bpf MAP_GET_NEXT_KEY", bpf(BPF_MAP_GET_NEXT_KEY, &attr, sizeof attr));
    dump("  next key", next, sizeof next);
    key = 99;
    attr.key = (uintptr_t)&key;
    attr.value = (uintptr_t)out;
    result("bpf MAP_LOOKUP_ELEM of a missing key", bpf(BPF_MAP_LOOKUP_ELEM, &attr, sizeof attr));

    struct bpf_map_info info;
    memset(&info, '#', sizeof info);
    memset(&attr, 0, sizeof attr);
    attr.info.bpf_fd = map;
    attr.info.info_len = sizeof info;
    attr.info.info = (uintptr_t)&info;
    result("bpf OBJ_GET_INFO_BY_FD", bpf(BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof attr));
    printf("  type %u key %u value %u max %u, info_len %u\n", info.type, info.key_size, info.value_size,
           info.max_entries, attr.info.info_len);
    close(map);
}

static void bpf_programs(void)
{
    /* r0 is never set: the verifier refuses it and says why in the log. */
    struct bpf_insn bad[] = {{.code = BPF_JMP | BPF_EXIT}};
    struct bpf_insn good[] = {{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0},
                              {.code = BPF_JMP | BPF_EXIT}};
    char log[512];
    union bpf_attr attr;
    for (int i = 0; i < 2; ++i) {
        memset(log, '#', sizeof log);
        memset(&attr, 0, sizeof attr);
        attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
        attr.insns = (uintptr_t)(i ? good : bad);
        attr.insn_cnt = i ? 2 : 1;
        attr.license = (uintptr_t) "GPL";
        attr.log_buf = (uintptr_t)log;
        attr.log_size = sizeof log;
        attr.log_level = 1;
        long prog = bpf(BPF_PROG_LOAD, &attr, sizeof attr);
        printf("bpf PROG_LOAD %s: %s\n", i ? "good" : "bad", prog >= 0 ? "a descriptor" : strerror(errno));
        /* The log's first line, and that the kernel wrote a nul after it. */
        char *nl = memchr(log, '\n', sizeof log);
        printf("  log: %.*s\n", nl ? (int)(nl - log) : 0, log);
        printf("  log nul-terminated: %s\n", memchr(log, 0, sizeof log) ? "yes" : "no");
        if (prog >= 0)
            close((int)prog);
    }
}

/* A BTF blob the kernel refuses: its log comes back through other fields
   than a program's. */
static void bpf_btf(void)
{
    unsigned char blob[24];
    memset(blob, 0x5a, sizeof blob);
    char log[256];
    memset(log, '#', sizeof log);
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.btf = (uintptr_t)blob;
    attr.btf_size = sizeof blob;
    attr.btf_log_buf = (uintptr_t)log;
    attr.btf_log_size = sizeof log;
    attr.btf_log_level = 1;
    long r = bpf(BPF_BTF_LOAD, &attr, sizeof attr);
    printf("bpf BTF_LOAD of garbage: %s\n", r >= 0 ? "loaded" : strerror(errno));
    dump("  log", log, 32);
}

static void sem_getall(void)
{
    int id = semget(IPC_PRIVATE, 3, 0600);
    if (id < 0) {
        printf("semget: errno %d\n", errno);
        return;
    }
    unsigned short set[3] = {5, 0, 32767}, got[5];
    result("semctl SETALL", semctl(id, 0, SETALL, set));
    memset(got, '#', sizeof got);
    result("semctl GETALL", semctl(id, 0, GETALL, got));
    dump("  values", got, sizeof got);
    result("semctl GETVAL 2", semctl(id, 2, GETVAL));
    result("semctl IPC_RMID", semctl(id, 0, IPC_RMID));
}

static void vm_self(void)
{
    long page = sysconf(_SC_PAGESIZE);
    unsigned char *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(p + page, page);
    for (long i = 0; i < page; ++i)
        p[i] = (unsigned char)i;
    unsigned char src[8] = "ABCDEFG";
    /* Local ranges: 3 bytes near the end of the page, then 4 that run
       into the unmapped page: the transfer stops after 3 + 1 bytes. */
    struct iovec local[2] = {{p + page - 8, 3}, {p + page - 1, 4}};
    struct iovec remote[1] = {{src, 7}};
    long n = process_vm_readv(getpid(), local, 2, remote, 1, 0);
    result("process_vm_readv", n);
    dump("  page end", p + page - 8, 8);
    /* Six bytes for 2 + 5 of room, 3 of them past the page: 4 land. */
    struct iovec from[1] = {{(void *)"uvwxyz", 6}};
    struct iovec to[2] = {{p + 10, 2}, {p + page - 2, 5}};
    n = process_vm_writev(getpid(), from, 1, to, 2, 0);
    result("process_vm_writev", n);
    dump("  start", p + 8, 8);
    dump("  page end", p + page - 8, 8);
    munmap(p, page);
}

int main(void)
{
    bpf_map();
    bpf_programs();
    bpf_btf();
    sem_getall();
    vm_self();
    return 0;
}
