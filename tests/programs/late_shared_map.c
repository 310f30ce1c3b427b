/* late_shared_map: maps a file shared and read-only from a read-only
   descriptor (a plain copy in the trace), makes many syscalls, and only
   then maps the same file shared and writable from a descriptor open for
   writing (the file joins the shared-files list near the end of the
   recording); a write through the writable mapping shows in the first. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { perror(#c); exit(1); } } while (0)
#define PAGE 4096

/* The bytes of the view that the later write changes, and its last one. */
static void show(const char *what, const volatile unsigned char *view)
{
    printf("%s:", what);
    for (int i = 96; i < 112; i++)
        printf(" %02x", view[i]);
    printf(" .. %02x\n", view[2 * PAGE - 1]);
}

int main(int argc, char **argv)
{
    int calls = argc > 1 ? atoi(argv[1]) : 200;
    /* Named by the pid, not by mkstemp: mkstemp draws random names and
       draws again when a draw falls in a biased range, so its number of
       syscalls, and the trace's event numbers, vary from run to run (the
       test picks a point by the event numbers of another recording). */
    char path[64];
    snprintf(path, sizeof path, "/tmp/rrtest-lateshared-%d", (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0);
    unsigned char page[PAGE];
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < PAGE; i++) page[i] = (unsigned char)((k * PAGE + i) * 7);
        CHECK(write(fd, page, PAGE) == PAGE);
    }
    CHECK(close(fd) == 0);

    int ro = open(path, O_RDONLY);
    CHECK(ro >= 0);
    const unsigned char *view = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, ro, 0);
    CHECK(view != MAP_FAILED);
    show("read-only view", view);
    fflush(stdout);

    /* Events where a checkpoint falls before the file joins the list. */
    pid_t parent = getppid();
    for (int i = 0; i < calls; i++)
        CHECK(getppid() == parent);

    int rw = open(path, O_RDWR);
    CHECK(rw >= 0);
    unsigned char *w = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0);
    CHECK(w != MAP_FAILED);
    memcpy(w + 100, "written", 7);
    printf("writable view: '%.7s'\n", w + 100);
    show("read-only view", view);

    CHECK(munmap(w, 2 * PAGE) == 0 && munmap((void *)view, 2 * PAGE) == 0);
    CHECK(close(rw) == 0 && close(ro) == 0);
    CHECK(unlink(path) == 0);
    return 0;
}
