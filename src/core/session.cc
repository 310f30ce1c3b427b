#include "core/session.h"

#include <csignal>
#include <linux/sched.h>
#include <string>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

namespace rr {

CloneShares clone_shares(uint64_t clone_flags) {
  return CloneShares{(clone_flags & CLONE_THREAD) != 0, (clone_flags & CLONE_FILES) != 0};
}

void kill_and_reap(const std::vector<Task*>& threads, const std::vector<Task*>& leaders) {
  for (Task* t : threads) t->send_kill();
  for (Task* t : leaders) t->send_kill();
  // Reaped as they end, in whatever order the kernel ends them: a leader
  // after its threads, and the first process of a PID namespace after the
  // rest of its namespace, which may be among them (a blocking wait for it
  // would wait for a task only we can release). Polled: a wait for any
  // child could take the supervisor's other children.
  std::vector<Task*> left;
  for (Task* t : threads)
    if (t->alive()) left.push_back(t);
  for (Task* t : leaders)
    if (t->alive()) left.push_back(t);
  while (!left.empty()) {
    bool moved = false;
    std::erase_if(left, [&](Task* t) {
      int status = 0;
      pid_t r = waitpid(t->tid(), &status, WNOHANG | __WALL);
      if (r == 0) return false;
      moved = true;
      if (r > 0 && !WIFEXITED(status) && !WIFSIGNALED(status)) {
        // A stop on the way out (PTRACE_EVENT_EXIT): let it go on dying.
        ptrace(PTRACE_CONT, t->tid(), nullptr, nullptr);
        return false;
      }
      t->mark_dead();
      return true;
    });
    if (!moved) usleep(200);
  }
}

Result<std::unique_ptr<Task>> attach_new_tracee(pid_t pid, RecordedTid recorded, long options, const char* what) {
  auto task = std::make_unique<Task>(pid, recorded);
  WaitStatus st = task->wait();
  if (!st.stopped() || WSTOPSIG(st.raw()) != SIGSTOP)
    return make_error(std::string(what) + " did not start: " + st.describe());
  task->set_options(options);
  return task;
}

}  // namespace rr
