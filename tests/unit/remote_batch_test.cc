// RemoteSyscalls::batch: many calls in the tracee with one resume. They must
// run in order, more than one table's worth too, stop at the first failure
// with every result up to it, and leave the rr page, the scratch page and
// the registers as they were.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/remote_syscalls.h"
#include "core/rr_page.h"
#include "core/session.h"
#include "core/tracee_setup.h"

namespace rr {
namespace {

// A tracee with the rr page as replay gives it: code, then scratch.
std::unique_ptr<Task> start_batch_tracee() {
  pid_t pid = fork();
  if (pid == 0) {
    void* p = mmap((void*)kRrPageAddr, kRrPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                   -1, 0);
    if (p != (void*)kRrPageAddr) _exit(125);
    memcpy(p, kRrPageCode, sizeof(kRrPageCode));
    if (mprotect(p, kPageSize, PROT_READ | PROT_EXEC) != 0) _exit(125);
    stop_for_tracer();
    _exit(0);
  }
  auto task = attach_new_tracee(pid, RecordedTid{pid}, kTraceeOptions, "the test's tracee");
  return task.ok() ? std::move(task.value()) : nullptr;
}

// Anonymous mappings far from anything the tracee has.
constexpr uint64_t kBatchArea = 0x5a0000000000ull;

RemoteSyscalls::Call batch_map_page(uint64_t i) {
  return {SYS_mmap, {kBatchArea + i * 2 * kPageSize, kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                     (uint64_t)-1, 0}};
}

TEST(RemoteBatch, RunsEveryCallInOrderAcrossTables) {
  auto t = start_batch_tracee();
  ASSERT_TRUE(t);
  Registers before = t->regs();
  std::string code_before = t->read_bytes(RemotePtr<>(kRrPageAddr), kPageSize);
  std::vector<RemoteSyscalls::Call> calls;
  // More than one table holds (63 calls each), so the loop runs three times.
  for (uint64_t i = 0; i < 150; ++i) calls.push_back(batch_map_page(i));
  // In the third table, page 5's unmapping: in another order it would be
  // mapped again after.
  calls.push_back({SYS_munmap, {kBatchArea + 5 * 2 * kPageSize, kPageSize, 0, 0, 0, 0}});
  std::vector<int64_t> got;
  {
    RemoteSyscalls rs(*t);
    got = rs.batch(calls);
  }
  ASSERT_EQ(got.size(), calls.size());
  for (uint64_t i = 0; i < 150; ++i) EXPECT_EQ((uint64_t)got[i], kBatchArea + i * 2 * kPageSize) << "call " << i;
  EXPECT_EQ(got[150], 0);
  // Each page is there but the one unmapped last, and the one between two is not.
  char byte = 0;
  EXPECT_TRUE(t->read_mem(RemotePtr<>(kBatchArea + 149 * 2 * kPageSize), &byte, 1));
  EXPECT_TRUE(t->read_mem(RemotePtr<>(kBatchArea + 4 * 2 * kPageSize), &byte, 1));
  EXPECT_FALSE(t->read_mem(RemotePtr<>(kBatchArea + 5 * 2 * kPageSize), &byte, 1)) << "the calls ran out of order";
  EXPECT_FALSE(t->read_mem(RemotePtr<>(kBatchArea + kPageSize), &byte, 1));
  EXPECT_EQ(t->regs().diff(before), "");
  EXPECT_TRUE(t->read_bytes(RemotePtr<>(kRrPageAddr), kPageSize) == code_before) << "the loop was left on the rr page";
  EXPECT_TRUE(t->read_bytes(RemotePtr<>(kRrScratch), kRrScratchSize) == std::string(kRrScratchSize, '\0'))
      << "the table was left in the scratch page";
}

// `good` mappings, then one that fails (a mapping of no length), then one
// more: the batch returns the results up to the failure and makes no call
// after it (that last page stays unmapped).
void expect_stop_after(uint64_t good) {
  auto t = start_batch_tracee();
  ASSERT_TRUE(t);
  std::vector<RemoteSyscalls::Call> calls;
  for (uint64_t i = 0; i < good; ++i) calls.push_back(batch_map_page(i));
  calls.push_back({SYS_mmap, {kBatchArea, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, (uint64_t)-1, 0}});
  calls.push_back(batch_map_page(200));
  std::vector<int64_t> got;
  {
    RemoteSyscalls rs(*t);
    got = rs.batch(calls);
  }
  ASSERT_EQ(got.size(), good + 1);
  EXPECT_EQ((uint64_t)got[good - 1], kBatchArea + (good - 1) * 2 * kPageSize);
  EXPECT_EQ(got[good], -EINVAL);
  char byte = 0;
  EXPECT_FALSE(t->read_mem(RemotePtr<>(kBatchArea + 200 * 2 * kPageSize), &byte, 1)) << "a call after the failure was made";
}

// Call 70, in the second table (63 calls each), fails.
TEST(RemoteBatch, StopsAtTheFirstFailure) { expect_stop_after(70); }

// The last call of the first table fails: the next table is not run.
TEST(RemoteBatch, StopsAtAFailureThatEndsATable) { expect_stop_after(62); }

}  // namespace
}  // namespace rr
