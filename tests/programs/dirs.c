/* dirs: mkdir a tree in a temp dir, list it with opendir/readdir (getdents64), print sorted names, clean up. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { perror(#c); exit(1); } } while (0)

static int cmp(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

int main(void)
{
    char dir[] = "/tmp/rrtest-dirs-XXXXXX";
    char path[512];
    char *names[200];
    int n = 0;
    CHECK(mkdtemp(dir) != NULL);

    for (int i = 0; i < 40; i++) {
        snprintf(path, sizeof path, "%s/file_%02d_%s", dir, (i * 17) % 40, i % 2 ? "odd" : "even");
        int fd = open(path, O_CREAT | O_WRONLY, 0644);
        CHECK(fd >= 0);
        close(fd);
    }
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/subdir_%d", dir, 4 - i);
        CHECK(mkdir(path, 0755) == 0);
    }
    snprintf(path, sizeof path, "%s/subdir_0", dir);
    printf("mkdir existing: %s\n", mkdir(path, 0755) < 0 && errno == EEXIST ? "EEXIST" : "unexpected");

    DIR *d = opendir(dir);
    CHECK(d != NULL);
    struct dirent *e;
    int dots = 0;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) {
            dots++;
            continue;
        }
        char *s = malloc(strlen(e->d_name) + 8);
        const char *t = e->d_type == DT_DIR ? "dir" : e->d_type == DT_REG ? "reg"
                        : e->d_type == DT_UNKNOWN ? "unk" : "other";
        sprintf(s, "%s %s", e->d_name, t);
        names[n++] = s;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp);
    printf("entries=%d dot-entries=%d\n", n, dots);
    for (int i = 0; i < n; i++) {
        printf("  %s\n", names[i]);
        char *sp = strchr(names[i], ' ');
        *sp = 0;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (!strncmp(names[i], "subdir_", 7))
            CHECK(rmdir(path) == 0);
        else
            CHECK(unlink(path) == 0);
        free(names[i]);
    }
    printf("rmdir ok=%s\n", rmdir(dir) == 0 ? "yes" : "no");
    return 0;
}
