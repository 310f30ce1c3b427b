// A thread that spins without syscalls while the main thread is ready to
// run: the recorder cannot switch between them and must say so. With
// the argument `jit` the loop is code made at run time, which the progress
// counter does not cover; without, it is the program's own (covered, unless
// recorded with --no-progress-counter).
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void* spin(void* arg) {
  volatile unsigned long* n = arg;
  for (;;) (*n)++;
  return NULL;
}

int main(int argc, char** argv) {
  static unsigned long counter;
  void* (*body)(void*) = spin;
  if (argc > 1 && strcmp(argv[1], "jit") == 0) {
    static const unsigned char loop[] = {
        0x48, 0xff, 0x07,  // 1: inc qword [rdi]
        0xeb, 0xfb,        // jmp 1b
    };
    void* code = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED) return 1;
    memcpy(code, loop, sizeof loop);
    if (mprotect(code, 4096, PROT_READ | PROT_EXEC) != 0) return 1;
    body = (void* (*)(void*))code;
  }
  pthread_t t;
  pthread_create(&t, NULL, body, &counter);
  for (;;) getppid();
}
