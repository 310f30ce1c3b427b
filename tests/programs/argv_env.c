/* argv_env: echoes argc/argv[1..] and a few derived facts about the environment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

int main(int argc, char **argv)
{
    int i, n = 0;
    printf("argc=%d\n", argc);
    for (i = 1; i < argc; i++)
        printf("argv[%d]=[%s] len=%zu\n", i, argv[i], strlen(argv[i]));
    printf("argv[argc] is NULL: %s\n", argv[argc] == NULL ? "yes" : "no");
    for (char **e = environ; *e; e++)
        n++;
    printf("environ non-empty: %s\n", n > 0 ? "yes" : "no");
    const char *v = getenv("RR_TEST_ECHO");
    printf("RR_TEST_ECHO=%s\n", v ? v : "(unset)");
    if (setenv("RR_TEST_SET", "value-123", 1) != 0)
        return 1;
    printf("after setenv: RR_TEST_SET=%s\n", getenv("RR_TEST_SET"));
    return 0;
}
