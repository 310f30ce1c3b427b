/* Printing helpers shared by the tracee programs that show the bytes a
   syscall stored (include with quotes: the programs are built one file at
   a time from this directory). */
#include <errno.h>
#include <stdio.h>

/* `what`: then the bytes of buf in hex, in groups of 8. */
static void dump(const char *what, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    printf("%s:", what);
    for (size_t i = 0; i < len; ++i)
        printf("%s%02x", i % 8 ? "" : " ", p[i]);
    printf("\n");
}

/* `what`: the result, or the errno when it is negative. */
static void result(const char *what, long r)
{
    if (r < 0)
        printf("%s: errno %d\n", what, errno);
    else
        printf("%s: %ld\n", what, r);
}
