// counter_pingpong's two spinning threads in a program linked at the lowest
// address a program may map (manifest: non-PIE, text segment at 0x10000),
// as cc1 (at 0x400000 with 20 MB of code) and Go's programs are linked low:
// there is no room for the progress counter's stubs below the code, so they
// go above it, and the threads' hand-overs are progress traps as in the
// position-independent build.
#include "counter_pingpong.c"
