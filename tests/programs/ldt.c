/* ldt: a local descriptor table entry made with modify_ldt, seen by the
 * processor (the lsl instruction reads the segment's limit, which replay
 * gets only if it set the same entry), read back with modify_ldt(0) and
 * the default table with modify_ldt(2). Checkpoints cannot hold the table:
 * the program makes enough events first that earlier ones are taken. */
#define _GNU_SOURCE
#include <asm/ldt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "show.h"

static uint32_t segment_limit(uint32_t selector, int *valid)
{
    uint32_t limit = 0, ok = 0;
    __asm__ volatile("lsl %[sel], %[lim]\n\tjnz 1f\n\tmovl $1, %[ok]\n1:"
                     : [lim] "+r"(limit), [ok] "+rm"(ok)
                     : [sel] "r"(selector));
    *valid = ok;
    return limit;
}

int main(void)
{
    for (int i = 0; i < 40; ++i)
        printf("before %d: %s\n", i, getpid() > 0 ? "ok" : "?");
    int valid;
    uint32_t selector = (1 << 3) | 0x4 | 0x3; /* entry 1, LDT, ring 3 */
    segment_limit(selector, &valid);
    printf("entry 1 before: %s\n", valid ? "valid" : "none");
    struct user_desc desc = {.entry_number = 1, .base_addr = 0, .limit = 0x4321, .seg_32bit = 1,
                             .contents = 2, .useable = 1};
    result("modify_ldt write", syscall(SYS_modify_ldt, 0x11, &desc, sizeof desc));
    uint32_t limit = segment_limit(selector, &valid);
    printf("entry 1 after: %s, limit %#x\n", valid ? "valid" : "none", limit);
    unsigned char table[24];
    memset(table, '#', sizeof table);
    result("modify_ldt read", syscall(SYS_modify_ldt, 0, table, sizeof table));
    dump("  table", table, sizeof table);
    memset(table, '#', sizeof table);
    result("modify_ldt read default", syscall(SYS_modify_ldt, 2, table, 8));
    dump("  default", table, sizeof table);
    for (int i = 0; i < 5; ++i)
        printf("after %d: %s\n", i, getpid() > 0 ? "ok" : "?");
    return 0;
}
