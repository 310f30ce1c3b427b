// The syscall buffer's library (src/preload/preload.c) loaded into this
// process, with an rr page entry and a buffer set up by hand the way the
// recorder will: the recording road keeps each call's number, result and
// output in the buffer; the replay road (no syscall at the entry, the road
// flag set) returns exactly those, however the world changed meanwhile,
// and traps on a call the records do not have.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern "C" {
#include "preload/syscall_buffer.h"
}

namespace {

constexpr uint8_t kRecordEntry[] = {0x0f, 0x05, 0xc3};  // syscall; ret
constexpr uint8_t kReplayEntry[] = {0x66, 0x90, 0xc3};  // nop; ret
constexpr uint64_t kPage = 0x70000000;

using ClockGettime = int (*)(clockid_t, struct timespec*);
using Stat = int (*)(const char*, struct stat*);
using Getpid = pid_t (*)();
using Lseek = off_t (*)(int, off_t, int);

void set_road(const uint8_t* entry, uint8_t flag) {
  ASSERT_EQ(mprotect((void*)kPage, 4096, PROT_READ | PROT_WRITE), 0);
  memcpy((void*)RR_BUFFERED_ENTRY, entry, 3);
  *(volatile uint8_t*)RR_ROAD_FLAG_ADDR = flag;
  ASSERT_EQ(mprotect((void*)kPage, 4096, PROT_READ | PROT_EXEC), 0);
}

rr_buffer_header* header() { return reinterpret_cast<rr_buffer_header*>(RR_BUFFER_ADDR); }

const rr_buffer_record* record_at(uint32_t offset) {
  return reinterpret_cast<const rr_buffer_record*>(RR_BUFFER_ADDR + sizeof(rr_buffer_header) + offset);
}

class Preload : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(mmap((void*)kPage, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0),
              (void*)kPage)
        << strerror(errno);
    ASSERT_EQ(mmap((void*)RR_BUFFER_ADDR, RR_BUFFER_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0),
              (void*)RR_BUFFER_ADDR)
        << strerror(errno);
    set_road(kRecordEntry, RR_ROAD_RECORD);
    header()->magic = RR_BUFFER_MAGIC;
    header()->available = RR_BUFFER_DATA_SIZE;
    lib_ = dlopen(RR_PRELOAD_PATH, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(lib_, nullptr) << dlerror();
    clock_gettime_ = reinterpret_cast<ClockGettime>(dlsym(lib_, "clock_gettime"));
    stat_ = reinterpret_cast<Stat>(dlsym(lib_, "stat"));
    getpid_ = reinterpret_cast<Getpid>(dlsym(lib_, "getpid"));
    lseek_ = reinterpret_cast<Lseek>(dlsym(lib_, "lseek"));
    ASSERT_TRUE(clock_gettime_ && stat_ && getpid_ && lseek_);
  }
  void TearDown() override {
    if (lib_) dlclose(lib_);
    munmap((void*)RR_BUFFER_ADDR, RR_BUFFER_SIZE);
    munmap((void*)kPage, 4096);
  }
  // Replay from the start of what the recording road left in the buffer.
  void to_replay() {
    set_road(kReplayEntry, RR_ROAD_REPLAY);
    header()->available = header()->used;
    header()->used = 0;
  }

  void* lib_ = nullptr;
  ClockGettime clock_gettime_ = nullptr;
  Stat stat_ = nullptr;
  Getpid getpid_ = nullptr;
  Lseek lseek_ = nullptr;
};

TEST_F(Preload, RecordingKeepsNumberResultAndOutput) {
  struct timespec ts = {};
  ASSERT_EQ(clock_gettime_(CLOCK_MONOTONIC, &ts), 0);
  EXPECT_GT(ts.tv_sec + ts.tv_nsec, 0);
  const rr_buffer_record* rec = record_at(0);
  EXPECT_EQ(rec->number, SYS_clock_gettime);
  EXPECT_EQ(rec->result, 0);
  EXPECT_EQ(rec->out_len, sizeof ts);
  EXPECT_EQ(memcmp(rec + 1, &ts, sizeof ts), 0) << "the record holds what the program got";
  EXPECT_EQ(header()->used, rec->size);

  struct stat st = {}, want = {};
  ASSERT_EQ(stat_("/", &st), 0);
  ASSERT_EQ(::stat("/", &want), 0);
  EXPECT_EQ(st.st_ino, want.st_ino);
  EXPECT_EQ(stat_("/nonexistent-rr-preload-test", &st), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(getpid_(), ::getpid());
  EXPECT_EQ(record_at(header()->used - rr_buffer_record_size(0))->number, SYS_getpid);
}

TEST_F(Preload, ReplayReturnsTheRecordedResultsWithoutSyscalls) {
  struct timespec t1 = {}, t2 = {};
  struct stat s1 = {}, s2 = {};
  ASSERT_EQ(clock_gettime_(CLOCK_MONOTONIC, &t1), 0);
  ASSERT_EQ(stat_("/", &s1), 0);
  ASSERT_EQ(stat_("/nonexistent-rr-preload-test", &s1), -1);
  pid_t pid = getpid_();
  ASSERT_EQ(lseek_(-1, 0, SEEK_SET), -1);
  uint32_t recorded = header()->used;
  to_replay();
  usleep(2000);  // the clock moves on; the replayed read must not
  ASSERT_EQ(clock_gettime_(CLOCK_MONOTONIC, &t2), 0);
  EXPECT_EQ(t2.tv_sec, t1.tv_sec);
  EXPECT_EQ(t2.tv_nsec, t1.tv_nsec);
  ASSERT_EQ(stat_("/", &s2), 0);
  EXPECT_EQ(s2.st_ino, s1.st_ino);
  errno = 0;
  EXPECT_EQ(stat_("/nonexistent-rr-preload-test", &s2), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(getpid_(), pid);
  errno = 0;
  EXPECT_EQ(lseek_(-1, 0, SEEK_SET), -1);
  EXPECT_EQ(errno, EBADF);
  EXPECT_EQ(header()->used, recorded) << "every record consumed, no more";
  // Past the records the call goes the traced way (here: the real kernel).
  struct timespec t3 = {};
  ASSERT_EQ(clock_gettime_(CLOCK_MONOTONIC, &t3), 0);
  EXPECT_EQ(header()->used, recorded);
  EXPECT_TRUE(t3.tv_sec > t1.tv_sec || (t3.tv_sec == t1.tv_sec && t3.tv_nsec > t1.tv_nsec));
}

TEST_F(Preload, LockedBufferKeepsNothing) {
  header()->locked = 1;
  struct timespec ts = {};
  ASSERT_EQ(clock_gettime_(CLOCK_MONOTONIC, &ts), 0);
  EXPECT_EQ(getpid_(), ::getpid());
  EXPECT_EQ(header()->used, 0u);
}

TEST_F(Preload, FullBufferGoesTheTracedWay) {
  header()->available = rr_buffer_record_size(0);
  EXPECT_EQ(getpid_(), ::getpid());
  EXPECT_EQ(getpid_(), ::getpid());
  EXPECT_EQ(header()->used, rr_buffer_record_size(0)) << "the second call did not fit";
}

TEST_F(Preload, ReplayTrapsOnACallTheRecordsDoNotHave) {
  struct timespec ts = {};
  ASSERT_EQ(clock_gettime_(CLOCK_MONOTONIC, &ts), 0);
  to_replay();
  EXPECT_EXIT(getpid_(), ::testing::KilledBySignal(SIGILL), "");
}

}  // namespace
