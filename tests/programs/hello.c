/* hello: minimal program - prints hello world and exits with status 0. */
#include <stdio.h>

int main(void)
{
    printf("hello, world\n");
    return 0;
}
