#include "core/session.h"

#include <csignal>
#include <linux/sched.h>
#include <string>

namespace rr {

CloneShares clone_shares(uint64_t clone_flags) {
  return CloneShares{(clone_flags & CLONE_THREAD) != 0, (clone_flags & CLONE_FILES) != 0};
}

void kill_and_reap(const std::vector<Task*>& threads, const std::vector<Task*>& leaders) {
  for (Task* t : threads) t->send_kill();
  for (Task* t : leaders) t->send_kill();
  for (Task* t : threads) t->kill();
  for (Task* t : leaders) t->kill();
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
