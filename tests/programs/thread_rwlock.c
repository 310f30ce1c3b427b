// Readers and writers share a table under a rwlock.
#include <pthread.h>
#include <stdio.h>

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static int table[16];
static long reads_ok;
static pthread_mutex_t stat_lock = PTHREAD_MUTEX_INITIALIZER;

static void* writer(void* arg) {
  long id = (long)arg;
  for (int i = 0; i < 200; ++i) {
    pthread_rwlock_wrlock(&rw);
    for (int k = 0; k < 16; ++k) table[k] = i * 16 + (int)id;
    pthread_rwlock_unlock(&rw);
  }
  return NULL;
}

static void* reader(void* arg) {
  (void)arg;
  for (int i = 0; i < 300; ++i) {
    pthread_rwlock_rdlock(&rw);
    int same = 1;
    for (int k = 1; k < 16; ++k) same &= table[k] == table[0];
    pthread_rwlock_unlock(&rw);
    pthread_mutex_lock(&stat_lock);
    reads_ok += same;
    pthread_mutex_unlock(&stat_lock);
  }
  return NULL;
}

int main(void) {
  pthread_t t[5];
  pthread_create(&t[0], NULL, writer, (void*)1);
  pthread_create(&t[1], NULL, writer, (void*)2);
  for (int i = 2; i < 5; ++i) pthread_create(&t[i], NULL, reader, NULL);
  for (int i = 0; i < 5; ++i) pthread_join(t[i], NULL);
  printf("consistent reads: %ld of 900\n", reads_ok);
  return 0;
}
