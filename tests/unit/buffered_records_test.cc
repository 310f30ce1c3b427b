// The syscall buffer's records as rr reads them (core/buffered_records.h):
// split in order, malformed ones refused, and the opens and closes among
// them change an fd table as the same calls made with a stop would.
#include <fcntl.h>
#include <signal.h>
#include <gtest/gtest.h>
#include <sys/syscall.h>

#include <cstring>
#include <string>

#include "core/buffered_records.h"
#include "preload/syscall_buffer.h"

namespace rr {
namespace {

std::string record(int64_t nr, int64_t result, const std::string& out) {
  rr_buffer_record rec = {nr, result, rr_buffer_record_size((uint32_t)out.size()), (uint32_t)out.size()};
  std::string bytes((const char*)&rec, sizeof rec);
  bytes += out;
  bytes.resize(rec.size, '\0');
  return bytes;
}

std::string args(uint64_t a0, uint64_t a1 = 0, uint64_t a2 = 0) {
  uint64_t a[5] = {a0, a1, a2, 0, 0};
  return std::string((const char*)a, sizeof a);
}

TEST(BufferedRecords, SplitInOrder) {
  std::string bytes = record(SYS_getpid, 42, "") + record(SYS_read, 3, "abc") + record(SYS_close, 0, args(7));
  auto records = parse_buffered_records(bytes);
  ASSERT_TRUE(records.ok()) << records.error().message;
  ASSERT_EQ(records.value().size(), 3u);
  EXPECT_EQ(records.value()[0].result, 42);
  EXPECT_EQ(records.value()[1].out, "abc");
  EXPECT_EQ(records.value()[2].number, SYS_close);
}

TEST(BufferedRecords, MalformedOnesAreRefused) {
  std::string good = record(SYS_getpid, 1, "");
  EXPECT_FALSE(parse_buffered_records(good.substr(0, good.size() - 8)).ok()) << "truncated";
  EXPECT_FALSE(parse_buffered_records(record(SYS_mmap, 0, "")).ok()) << "a call replay executes";
  EXPECT_FALSE(parse_buffered_records(record(SYS_close, 0, "")).ok()) << "a close without its arguments";
}

// Calls replay executes when traced are records only where their kept
// arguments say they change nothing: madvise's harmless advice, and
// rt_sigaction that asks without setting an action.
TEST(BufferedRecords, ExecutedCallsOnlyWhenTheyChangeNothing) {
  std::string old_action(32, 'x');
  EXPECT_TRUE(parse_buffered_records(record(SYS_rt_sigaction, 0, args(SIGINT, 0, 0x1000) + old_action)).ok())
      << "a query";
  EXPECT_FALSE(parse_buffered_records(record(SYS_rt_sigaction, 0, args(SIGINT, 0x2000, 0x1000) + old_action)).ok())
      << "an action set";
  EXPECT_FALSE(parse_buffered_records(record(SYS_rt_sigaction, 0, old_action.substr(0, 16))).ok())
      << "without its arguments";
  EXPECT_TRUE(parse_buffered_records(record(SYS_madvise, 0, args(0x1000, 4096, 3 /* MADV_WILLNEED */))).ok());
  EXPECT_FALSE(parse_buffered_records(record(SYS_madvise, 0, args(0x1000, 4096, 4 /* MADV_DONTNEED */))).ok());
}

TEST(BufferedRecords, OpensAndClosesChangeTheFdTable) {
  auto table = std::make_shared<FdTable>();
  std::string bytes = record(SYS_openat, 5, args((uint64_t)AT_FDCWD, 0x1000, O_RDONLY | O_CLOEXEC)) +
                      record(SYS_openat, 6, args((uint64_t)AT_FDCWD, 0x1000, O_RDONLY)) +
                      record(SYS_openat, -ENOENT, args((uint64_t)AT_FDCWD, 0x1000, O_RDONLY)) +
                      record(SYS_close, 0, args(6)) + record(SYS_close, -EBADF, args(9)) + record(SYS_close, 0, args(0));
  auto records = parse_buffered_records(bytes);
  ASSERT_TRUE(records.ok()) << records.error().message;
  apply_buffered_fd_changes(table, records.value());
  const auto& fds = table->entries();
  ASSERT_EQ(fds.size(), 3u) << "stdout, stderr and 5";
  EXPECT_FALSE(fds.count(0)) << "closed";
  EXPECT_FALSE(fds.count(6)) << "opened, then closed";
  ASSERT_TRUE(fds.count(5));
  EXPECT_TRUE(fds.at(5).cloexec);
  EXPECT_EQ(fds.at(5).kind, FdTable::Kind::Other);
}

}  // namespace
}  // namespace rr
