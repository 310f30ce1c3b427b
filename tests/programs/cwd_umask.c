/* cwd_umask: umask set/get and its effect on created files, getcwd/chdir/fchdir into a temp dir and back. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { perror(#c); exit(1); } } while (0)

int main(void)
{
    mode_t old = umask(027);
    mode_t back = umask(077);
    printf("umask(027) then umask(077) returned 027: %s\n", back == 027 ? "yes" : "no");
    umask(027);
    (void)old;

    char orig[PATH_MAX], cur[PATH_MAX];
    CHECK(getcwd(orig, sizeof orig) != NULL);
    int origfd = open(".", O_RDONLY | O_DIRECTORY);
    CHECK(origfd >= 0);

    char dir[] = "/tmp/rrtest-cwd-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    CHECK(chdir(dir) == 0);
    CHECK(getcwd(cur, sizeof cur) != NULL);
    printf("getcwd after chdir equals temp dir: %s\n", strcmp(cur, dir) == 0 ? "yes" : "no");

    int fd = open("relfile", O_CREAT | O_WRONLY, 0666);
    CHECK(fd >= 0);
    close(fd);
    struct stat st;
    CHECK(stat("relfile", &st) == 0);
    printf("file created with 0666 under umask 027 has mode %04o\n", st.st_mode & 07777);
    CHECK(mkdir("sub", 0777) == 0);
    CHECK(stat("sub", &st) == 0);
    printf("dir created with 0777 under umask 027 has mode %04o\n", st.st_mode & 07777);

    CHECK(chdir("sub") == 0);
    CHECK(getcwd(cur, sizeof cur) != NULL);
    size_t dl = strlen(dir);
    printf("getcwd after chdir(sub) is <tmp>/sub: %s\n",
           strncmp(cur, dir, dl) == 0 && strcmp(cur + dl, "/sub") == 0 ? "yes" : "no");
    CHECK(chdir("..") == 0);
    CHECK(access("relfile", F_OK) == 0);
    printf("chdir(..) back, relative access works: yes\n");

    char small[4];
    printf("getcwd with tiny buffer fails: %s\n", getcwd(small, sizeof small) == NULL ? "yes" : "no");
    char *dyn = getcwd(NULL, 0);
    printf("getcwd(NULL,0) allocates: %s\n", dyn && strcmp(dyn, dir) == 0 ? "yes" : "no");
    free(dyn);

    CHECK(unlink("relfile") == 0);
    CHECK(rmdir("sub") == 0);
    CHECK(fchdir(origfd) == 0);
    CHECK(getcwd(cur, sizeof cur) != NULL);
    printf("fchdir back to original: %s\n", strcmp(cur, orig) == 0 ? "yes" : "no");
    close(origfd);
    CHECK(rmdir(dir) == 0);
    printf("cleanup ok\n");
    return 0;
}
