#include <gtest/gtest.h>
#include <linux/sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "core/session.h"
#include "core/tracee_setup.h"

namespace rr {
namespace {

TEST(CloneShares, ThreadsShareTheirProcessAndFdTable) {
  uint64_t pthread_create = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                            CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
  CloneShares thread = clone_shares(pthread_create);
  EXPECT_TRUE(thread.process);
  EXPECT_TRUE(thread.fd_table);
  CloneShares fork = clone_shares(SIGCHLD);
  EXPECT_FALSE(fork.process);
  EXPECT_FALSE(fork.fd_table);
  CloneShares files_only = clone_shares(CLONE_FILES | SIGCHLD);
  EXPECT_FALSE(files_only.process);
  EXPECT_TRUE(files_only.fd_table);
}

// A forked child of this test, stopped for its tracer as every tracee is.
std::unique_ptr<SessionTask> start_tracee() {
  pid_t pid = fork();
  if (pid == 0) {
    stop_for_tracer();
    _exit(0);
  }
  auto task = attach_new_tracee(pid, RecordedTid{pid}, kTraceeOptions, "the test's tracee");
  if (!task.ok()) return nullptr;
  auto t = std::make_unique<SessionTask>();
  t->task = std::move(task.value());
  return t;
}

bool reaped(pid_t pid) { return waitpid(pid, nullptr, WNOHANG | __WALL) < 0 && errno == ECHILD; }

class TestSession : public Session<SessionTask> {
 public:
  using Session::add_clone;
  using Session::add_process;
  using Session::has_zombies;
  using Session::keep_zombie_leader;
  using Session::kill_processes;
  using Session::thread_count;
  using Session::zombie;
};

TEST(Session, EndsAndReapsItsTracees) {
  pid_t parent, child;
  {
    TestSession s;
    auto p = start_tracee();
    auto c = start_tracee();
    ASSERT_TRUE(p && c);
    parent = p->task->tid();
    child = c->task->tid();
    SessionTask& pt = s.add_process(std::move(p), std::make_shared<FdTable>());
    SessionTask& ct = s.add_clone(pt, std::move(c), SIGCHLD);
    EXPECT_EQ(ct.tgid.value, child);
    EXPECT_NE(ct.fds, pt.fds);
    EXPECT_EQ(s.tasks().size(), 2u);
  }
  EXPECT_TRUE(reaped(parent));
  EXPECT_TRUE(reaped(child));
}

TEST(Session, KeepsALeaderThatEndedBeforeItsThreadsUntilItsProcessIsKilled) {
  TestSession s;
  auto leader = start_tracee();
  auto other = start_tracee();
  ASSERT_TRUE(leader && other);
  pid_t tgid = leader->task->tid(), tid = other->task->tid();
  SessionTask& lt = s.add_process(std::move(leader), std::make_shared<FdTable>());
  // Booked as a thread of the leader's process (it is a process of its own
  // to the kernel, which the session does not ask).
  SessionTask& tt = s.add_clone(lt, std::move(other), CLONE_THREAD | CLONE_FILES | CLONE_VM | CLONE_SIGHAND);
  EXPECT_EQ(tt.tgid.value, tgid);
  EXPECT_EQ(tt.fds, lt.fds);
  EXPECT_EQ(s.thread_count(RecordedTid{tgid}), 2u);
  s.keep_zombie_leader(RecordedTid{tgid});
  EXPECT_EQ(s.thread_count(RecordedTid{tgid}), 1u);
  EXPECT_TRUE(s.has_zombies());
  ASSERT_NE(s.zombie(RecordedTid{tgid}), nullptr);
  EXPECT_TRUE(s.zombie(RecordedTid{tgid})->alive());
  s.kill_processes(RecordedTid{tgid});
  EXPECT_FALSE(s.has_zombies());
  EXPECT_TRUE(s.tasks().empty());
  EXPECT_TRUE(reaped(tgid));
  EXPECT_TRUE(reaped(tid));
}

}  // namespace
}  // namespace rr
