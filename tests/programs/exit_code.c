/* exit_code: prints a line then terminates with a nonzero exit status (3) via exit(). */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    printf("exiting with status 3\n");
    exit(3);
}
