// Task::read_mem and try_write_mem on ranges that process_vm_readv /
// process_vm_writev take only in part: what they refuse (a read-only page to
// write, a PROT_NONE one to read) must be finished through the memory file.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "core/session.h"
#include "core/tracee_setup.h"

namespace rr {
namespace {

constexpr size_t kMemTestPage = 4096;

// Four pages: two read-write, one read-only, one PROT_NONE in the tracee,
// page i filled with 'a' + i; then an unmapped page.
struct Region {
  uint8_t* base = nullptr;
  Region() {
    base = (uint8_t*)mmap(nullptr, 5 * kMemTestPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t i = 0; i < 4; ++i) memset(base + i * kMemTestPage, 'a' + i, kMemTestPage);
    munmap(base + 4 * kMemTestPage, kMemTestPage);
  }
  ~Region() { munmap(base, 4 * kMemTestPage); }
  RemotePtr<> at(size_t page) const { return RemotePtr<>((uint64_t)(base + page * kMemTestPage)); }
};

std::unique_ptr<Task> start_tracee(const Region& r) {
  pid_t pid = fork();
  if (pid == 0) {
    mprotect(r.base + 2 * kMemTestPage, kMemTestPage, PROT_READ);
    mprotect(r.base + 3 * kMemTestPage, kMemTestPage, PROT_NONE);
    stop_for_tracer();
    _exit(0);
  }
  auto task = attach_new_tracee(pid, RecordedTid{pid}, kTraceeOptions, "the test's tracee");
  return task.ok() ? std::move(task.value()) : nullptr;
}

std::string expected_pattern(char first, size_t pages) {
  std::string s;
  for (size_t i = 0; i < pages; ++i) s += std::string(kMemTestPage, (char)(first + i));
  return s;
}

TEST(TaskMem, ReadsPastWhatProcessVmReadvRefuses) {
  Region r;
  auto t = start_tracee(r);
  ASSERT_TRUE(t);
  std::string got(4 * kMemTestPage, '\0');
  ASSERT_TRUE(t->read_mem(r.at(0), got.data(), got.size()));
  EXPECT_TRUE(got == expected_pattern('a', 4)) << "the four pages read back differ from what the tracee holds";
  // Starting on the PROT_NONE page itself, and running into unmapped memory.
  std::string none(kMemTestPage, '\0');
  ASSERT_TRUE(t->read_mem(r.at(3), none.data(), none.size()));
  EXPECT_EQ(none, std::string(kMemTestPage, 'd'));
  std::string past(2 * kMemTestPage, '\0');
  EXPECT_FALSE(t->read_mem(r.at(3), past.data(), past.size())) << "a read into an unmapped page succeeded";
}

TEST(TaskMem, WritesPastWhatProcessVmWritevRefuses) {
  Region r;
  auto t = start_tracee(r);
  ASSERT_TRUE(t);
  std::string want = expected_pattern('k', 4);
  ASSERT_TRUE(t->try_write_mem(r.at(0), want.data(), want.size()));
  std::string got(4 * kMemTestPage, '\0');
  ASSERT_TRUE(t->read_mem(r.at(0), got.data(), got.size()));
  EXPECT_TRUE(got == want) << "the read-only or PROT_NONE page kept its old bytes";
  // The tracee's pages are its own copies: ours are untouched.
  EXPECT_EQ(std::string((char*)r.base, 4 * kMemTestPage), expected_pattern('a', 4));
  EXPECT_FALSE(t->try_write_mem(r.at(3), want.data(), 2 * kMemTestPage)) << "a write into an unmapped page succeeded";
}

}  // namespace
}  // namespace rr
