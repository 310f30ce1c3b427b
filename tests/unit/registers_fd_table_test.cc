#include <fcntl.h>
#include <sched.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <cstring>

#include "core/fd_table.h"
#include "core/registers.h"
#include "replay/traps.h"

namespace rr {
namespace {

TEST(Registers, TableNamesEveryField) {
  EXPECT_EQ(register_table().size() * 8, sizeof(user_regs_struct));
  Registers r;
  r.raw().r13 = 0x1234;
  bool found = false;
  for (const RegisterInfo& info : register_table())
    if (std::string(info.name) == "r13") found = r.get(info) == 0x1234;
  EXPECT_TRUE(found);
}

TEST(Registers, DiffNamesOnlyTheRegistersThatDiffer) {
  Registers a, b;
  a.raw().rip = 0x401000;
  b.raw().rip = 0x401000;
  EXPECT_EQ(a.diff(b), "");
  b.raw().rdi = 7;
  b.raw().eflags = 0x246;
  std::string d = a.diff(b);
  EXPECT_NE(d.find("rdi 0x0 != 0x7"), std::string::npos) << d;
  EXPECT_NE(d.find("eflags 0x0 != 0x246"), std::string::npos) << d;
  EXPECT_EQ(d.find("rip"), std::string::npos) << d;
}

TEST(Registers, BytesRoundTripAndRejectWrongSizes) {
  Registers a;
  a.raw().rax = 1;
  a.raw().fs_base = 0x7fff0000;
  std::string bytes = a.to_bytes();
  Registers b;
  ASSERT_TRUE(Registers::from_bytes(bytes.data(), bytes.size(), b));
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(Registers::from_bytes(bytes.data(), bytes.size() - 8, b));
}

TEST(Registers, SyscallArgumentsFollowTheKernelOrder) {
  Registers r;
  for (int i = 0; i < 6; ++i) r.set_arg(i, 100 + i);
  EXPECT_EQ(r.raw().rdi, 100u);
  EXPECT_EQ(r.raw().rsi, 101u);
  EXPECT_EQ(r.raw().rdx, 102u);
  EXPECT_EQ(r.raw().r10, 103u);
  EXPECT_EQ(r.raw().r8, 104u);
  EXPECT_EQ(r.raw().r9, 105u);
}

FdTable::MemReader no_memory() {
  return [](RemotePtr<>, void*, size_t) { return false; };
}

TEST(FdTable, DupOfStdoutEchoesAndCloseForgets) {
  auto table = std::make_shared<FdTable>();
  FdTable& t = *table;
  EXPECT_EQ(t.echo_target(1), 1);
  EXPECT_EQ(t.echo_target(2), 2);
  uint64_t dup_args[6] = {1, 0, 0, 0, 0, 0};
  FdTable::on_syscall(table, SYS_dup, dup_args, 5, no_memory());
  EXPECT_EQ(t.echo_target(5), 1);
  uint64_t close_args[6] = {5, 0, 0, 0, 0, 0};
  FdTable::on_syscall(table, SYS_close, close_args, 0, no_memory());
  EXPECT_EQ(t.echo_target(5), 0);
}

TEST(FdTable, Dup2OfAFileOverStdoutStopsTheEcho) {
  auto table = std::make_shared<FdTable>();
  FdTable& t = *table;
  uint64_t open_args[6] = {(uint64_t)AT_FDCWD, 0, O_WRONLY, 0, 0, 0};
  FdTable::on_syscall(table, SYS_openat, open_args, 3, no_memory());
  uint64_t dup2_args[6] = {3, 1, 0, 0, 0, 0};
  FdTable::on_syscall(table, SYS_dup2, dup2_args, 1, no_memory());
  EXPECT_EQ(t.echo_target(1), 0);
}

// A kind the recording found (SyscallEvent.newFdKind) goes with the
// descriptor's copies and ends with it.
TEST(FdTable, MarkedKindsFollowDupsAndCloses) {
  auto table = std::make_shared<FdTable>();
  FdTable& t = *table;
  uint64_t open_args[6] = {(uint64_t)AT_FDCWD, 0, O_RDWR, 0, 0, 0};
  FdTable::on_syscall(table, SYS_openat, open_args, 3, no_memory());
  EXPECT_EQ(t.kind(3), FdTable::Kind::Other);
  t.mark(3, FdTable::Kind::SelfMem);
  uint64_t dup_args[6] = {3, 0, 0, 0, 0, 0};
  FdTable::on_syscall(table, SYS_dup, dup_args, 4, no_memory());
  EXPECT_EQ(t.kind(4), FdTable::Kind::SelfMem);
  EXPECT_EQ(t.echo_target(4), 0);
  t.mark(5, FdTable::Kind::Stdout);
  EXPECT_EQ(t.echo_target(5), 1);
  uint64_t close_args[6] = {4, 0, 0, 0, 0, 0};
  FdTable::on_syscall(table, SYS_close, close_args, 0, no_memory());
  EXPECT_EQ(t.kind(4), FdTable::Kind::Other);
  EXPECT_EQ(t.kind(3), FdTable::Kind::SelfMem);
}

TEST(FdTable, FailedCallsChangeNothing) {
  auto table = std::make_shared<FdTable>();
  FdTable& t = *table;
  uint64_t close_args[6] = {1, 0, 0, 0, 0, 0};
  FdTable::on_syscall(table, SYS_close, close_args, -9, no_memory());
  EXPECT_EQ(t.echo_target(1), 1);
}

// landlock_create_ruleset with LANDLOCK_CREATE_RULESET_VERSION returns the
// ABI version (1 is stdout's number), not a descriptor.
TEST(FdTable, LandlockVersionQueryOpensNoDescriptor) {
  auto table = std::make_shared<FdTable>();
  FdTable& t = *table;
  uint64_t version_args[6] = {0, 0, 1 /* LANDLOCK_CREATE_RULESET_VERSION */, 0, 0, 0};
  FdTable::on_syscall(table, SYS_landlock_create_ruleset, version_args, 1, no_memory());
  EXPECT_EQ(t.echo_target(1), 1);
  uint64_t dup_args[6] = {1, 0, 0, 0, 0, 0};
  FdTable::on_syscall(table, SYS_dup, dup_args, 4, no_memory());
  EXPECT_EQ(t.echo_target(4), 1);
  uint64_t ruleset_args[6] = {0x1000, 8, 0, 0, 0, 0};
  FdTable::on_syscall(table, SYS_landlock_create_ruleset, ruleset_args, 4, no_memory());
  EXPECT_EQ(t.echo_target(4), 0);
}

TEST(FdTable, PipesReadTheirFdsFromTraceeMemoryAndExecDropsCloexec) {
  auto table = std::make_shared<FdTable>();
  FdTable& t = *table;
  uint64_t pipe_args[6] = {0x1000, O_CLOEXEC, 0, 0, 0, 0};
  auto mem = [](RemotePtr<> addr, void* buf, size_t len) {
    if (addr.as_int() != 0x1000 || len != 8) return false;
    int fds[2] = {7, 8};
    memcpy(buf, fds, 8);
    return true;
  };
  FdTable::on_syscall(table, SYS_pipe2, pipe_args, 0, mem);
  ASSERT_EQ(t.entries().count(7), 1u);
  ASSERT_EQ(t.entries().count(8), 1u);
  EXPECT_TRUE(t.entries().at(7).cloexec);
  t.on_exec();
  EXPECT_EQ(t.entries().count(7), 0u);
  EXPECT_EQ(t.entries().count(1), 1u);
}

// What each syscall does to the table comes from its row (FdEffect).
TEST(FdTable, CreatorsFollowTheirCloexecFlags) {
  auto table = std::make_shared<FdTable>();
  FdTable& t = *table;
  uint64_t open_args[6] = {0, O_RDONLY | O_CLOEXEC, 0, 0, 0, 0};
  FdTable::on_syscall(table, SYS_open, open_args, 3, no_memory());
  uint64_t socket_args[6] = {AF_UNIX, SOCK_STREAM, 0, 0, 0, 0};
  FdTable::on_syscall(table, SYS_socket, socket_args, 4, no_memory());
  uint64_t memfd_args[6] = {0, 1 /* MFD_CLOEXEC */, 0, 0, 0, 0};
  FdTable::on_syscall(table, SYS_memfd_create, memfd_args, 5, no_memory());
  uint64_t pidfd_args[6] = {1234, 0, 0, 0, 0, 0};
  FdTable::on_syscall(table, SYS_pidfd_open, pidfd_args, 6, no_memory());  // close-on-exec whatever the flags
  uint64_t accept_args[6] = {4, 0, 0, 0, 0, 0};
  FdTable::on_syscall(table, SYS_accept, accept_args, 7, no_memory());
  for (int fd : {3, 4, 5, 6, 7}) ASSERT_EQ(t.entries().count(fd), 1u) << fd;
  EXPECT_TRUE(t.entries().at(3).cloexec);
  EXPECT_FALSE(t.entries().at(4).cloexec);
  EXPECT_TRUE(t.entries().at(5).cloexec);
  EXPECT_TRUE(t.entries().at(6).cloexec);
  EXPECT_FALSE(t.entries().at(7).cloexec);
  // A syscall that creates nothing leaves the table alone.
  uint64_t read_args[6] = {3, 0, 10, 0, 0, 0};
  FdTable::on_syscall(table, SYS_read, read_args, 8, no_memory());
  EXPECT_EQ(t.entries().count(8), 0u);
}

TEST(FdTable, DupsCarryTheEchoAndTheirOwnCloexec) {
  auto table = std::make_shared<FdTable>();
  FdTable& t = *table;
  uint64_t dup3_args[6] = {2, 9, O_CLOEXEC, 0, 0, 0};
  FdTable::on_syscall(table, SYS_dup3, dup3_args, 9, no_memory());
  EXPECT_EQ(t.echo_target(9), 2);
  EXPECT_TRUE(t.entries().at(9).cloexec);
  uint64_t fcntl_args[6] = {1, F_DUPFD_CLOEXEC, 10, 0, 0, 0};
  FdTable::on_syscall(table, SYS_fcntl, fcntl_args, 12, no_memory());
  EXPECT_EQ(t.echo_target(12), 1);
  EXPECT_TRUE(t.entries().at(12).cloexec);
  uint64_t setfd_args[6] = {12, F_SETFD, 0, 0, 0, 0};
  FdTable::on_syscall(table, SYS_fcntl, setfd_args, 0, no_memory());
  EXPECT_FALSE(t.entries().at(12).cloexec);
  // close_range with CLOSE_RANGE_CLOEXEC only marks; without, it closes.
  uint64_t mark_args[6] = {9, 12, 4, 0, 0, 0};
  FdTable::on_syscall(table, SYS_close_range, mark_args, 0, no_memory());
  EXPECT_TRUE(t.entries().at(12).cloexec);
  uint64_t range_args[6] = {9, 11, 0, 0, 0, 0};
  FdTable::on_syscall(table, SYS_close_range, range_args, 0, no_memory());
  EXPECT_EQ(t.entries().count(9), 0u);
  EXPECT_EQ(t.entries().count(12), 1u);
}

TEST(FdTable, SocketpairReadsItsPairAtTheFourthArgument) {
  auto table = std::make_shared<FdTable>();
  FdTable& t = *table;
  uint64_t args[6] = {AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, 0x2000, 0, 0};
  auto mem = [](RemotePtr<> addr, void* buf, size_t len) {
    if (addr.as_int() != 0x2000 || len != 8) return false;
    int fds[2] = {20, 21};
    memcpy(buf, fds, 8);
    return true;
  };
  FdTable::on_syscall(table, SYS_socketpair, args, 0, mem);
  ASSERT_EQ(t.entries().count(20), 1u);
  ASSERT_EQ(t.entries().count(21), 1u);
  EXPECT_TRUE(t.entries().at(21).cloexec);
}

// unshare(CLONE_FILES) gives the task a copy of the table: what it does
// next is not seen by the threads it shared the old one with.
TEST(FdTable, UnshareFilesGivesTheTaskItsOwnCopy) {
  auto shared = std::make_shared<FdTable>();
  std::shared_ptr<FdTable> mine = shared;
  uint64_t other_args[6] = {CLONE_NEWUTS, 0, 0, 0, 0, 0};
  FdTable::on_syscall(mine, SYS_unshare, other_args, 0, no_memory());
  EXPECT_EQ(mine, shared);
  uint64_t files_args[6] = {CLONE_FILES | CLONE_NEWUTS, 0, 0, 0, 0, 0};
  FdTable::on_syscall(mine, SYS_unshare, files_args, -1, no_memory());  // failed: still shared
  EXPECT_EQ(mine, shared);
  FdTable::on_syscall(mine, SYS_unshare, files_args, 0, no_memory());
  ASSERT_NE(mine, shared);
  EXPECT_EQ(mine->entries().size(), shared->entries().size());
  uint64_t close_args[6] = {1, 0, 0, 0, 0, 0};
  FdTable::on_syscall(mine, SYS_close, close_args, 0, no_memory());
  EXPECT_EQ(mine->echo_target(1), 0);
  EXPECT_EQ(shared->echo_target(1), 1);
}

}  // namespace
}  // namespace rr


TEST(AlignedWatches, SplitsIntoAlignedPowersOfTwo) {
  using rr::aligned_watches;
  using rr::WatchKind;
  auto one = aligned_watches(rr::RemotePtr<>(0x1000), 8, WatchKind::Write);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].addr.as_int(), 0x1000u);
  EXPECT_EQ(one[0].len, 8);
  // 0x1003..0x100f: 1 at 0x1003, 4 at 0x1004, 8 at 0x1008 (12 bytes).
  auto odd = aligned_watches(rr::RemotePtr<>(0x1003), 13, WatchKind::Access);
  ASSERT_EQ(odd.size(), 3u);
  EXPECT_EQ(odd[0].addr.as_int(), 0x1003u);
  EXPECT_EQ(odd[0].len, 1);
  EXPECT_EQ(odd[1].addr.as_int(), 0x1004u);
  EXPECT_EQ(odd[1].len, 4);
  EXPECT_EQ(odd[2].addr.as_int(), 0x1008u);
  EXPECT_EQ(odd[2].len, 8);
  uint64_t covered = 0;
  for (const auto& w : aligned_watches(rr::RemotePtr<>(0x2001), 30, WatchKind::Write)) {
    EXPECT_EQ(w.addr.as_int() % w.len, 0u);
    EXPECT_EQ(w.addr.as_int(), 0x2001u + covered);
    covered += w.len;
  }
  EXPECT_EQ(covered, 30u);
}
