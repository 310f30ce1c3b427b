// Session: the tracees of one recording or one replay, and their life.
// Every thread is kept by its recorded tid (while recording that is its
// live tid too); the session knows which threads make a process, keeps a
// leader that ended before its threads unreaped as the kernel does (its
// end is reported only after theirs), decides from clone flags what a new
// task shares with its parent, and kills and reaps in the one order the
// kernel allows: everything killed first, then threads before leaders.
// A session's tracees end with it, so none outlives the supervisor.
//
// RecordSession and ReplaySession extend it with what they do at each stop;
// their task types (RecordTask, ReplayTask) extend SessionTask.
#pragma once

#include <cstdint>
#include <map>
#include <sys/ptrace.h>
#include <memory>
#include <optional>
#include <vector>

#include "core/fd_table.h"
#include "core/task.h"
#include "util/invariant.h"
#include "util/result.h"
#include "util/types.h"

namespace rr {

// The ptrace options every tracee gets: syscall stops told apart from
// SIGTRAP, new tasks traced from their first instruction, a stop before
// each task ends, and every tracee killed if the supervisor dies.
constexpr long kTraceeOptions = PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL | PTRACE_O_TRACECLONE |
                                PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXIT;

// What a task made by clone/fork/vfork/clone3 shares with its parent.
struct CloneShares {
  bool process = false;   // CLONE_THREAD: a thread of the parent's process
  bool fd_table = false;  // CLONE_FILES: the parent's fd table itself, not a copy
};
CloneShares clone_shares(uint64_t clone_flags);

// One tracee thread as a session keeps it. The ptraced thread is owned, not
// inherited: an exec from a non-leader thread (recording) or into a fresh
// process (replay) gives the same recorded task another Task.
struct SessionTask {
  std::unique_ptr<Task> task;
  RecordedTid tgid;              // the recorded pid of its process (its leader's tid)
  std::shared_ptr<FdTable> fds;  // shared by threads (and CLONE_FILES)
  RecordedTid recorded() const { return task->recorded_tid(); }
  bool is_leader() const { return recorded() == tgid; }
};

// Kills every task of `threads` and `leaders` first, then reaps them as
// they end: a leader's end is reported only after its threads', a thread
// held in a ptrace stop would never end otherwise, and the first process of
// a PID namespace ends only after the rest of it.
void kill_and_reap(const std::vector<Task*>& threads, const std::vector<Task*>& leaders);

// Waits for the first stop of `pid`, a new tracee that called
// stop_for_tracer() (core/tracee_setup.h), and sets `options` on it. The
// error names it as `what`.
Result<std::unique_ptr<Task>> attach_new_tracee(pid_t pid, RecordedTid recorded, long options, const char* what);

template <typename T>
class Session {
 public:
  using TaskMap = std::map<RecordedTid, std::unique_ptr<T>>;

  // Every live thread, by recorded tid.
  const TaskMap& tasks() const { return tasks_; }
  T* find_task(RecordedTid tid) const {
    auto it = tasks_.find(tid);
    return it == tasks_.end() ? nullptr : it->second.get();
  }

 protected:
  Session() = default;
  // Derived sessions kill first (kill_processes(std::nullopt)) where their
  // own members must outlive the tracees; this is the backstop.
  ~Session() { kill_processes(std::nullopt); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Adds a task under its recorded tid, which must be free.
  T& add_task(std::unique_ptr<T> t) {
    T& ref = *t;
    KJ_REQUIRE(!tasks_.contains(t->recorded()), "a second task under one recorded tid", t->recorded().value);
    tasks_[t->recorded()] = std::move(t);
    return ref;
  }
  // The first thread of a new process, with fd table `fds`.
  T& add_process(std::unique_ptr<T> leader, std::shared_ptr<FdTable> fds) {
    leader->tgid = leader->recorded();
    leader->fds = std::move(fds);
    return add_task(std::move(leader));
  }
  // Another thread of `leader`'s process, sharing its fd table.
  T& add_thread(const T& leader, std::unique_ptr<T> thread) {
    thread->tgid = leader.tgid;
    thread->fds = leader.fds;
    return add_task(std::move(thread));
  }
  // A task `parent` made with clone `flags`: a thread of its process or a
  // process of its own, with the parent's fd table or a copy of it.
  T& add_clone(const T& parent, std::unique_ptr<T> child, uint64_t flags) {
    CloneShares shares = clone_shares(flags);
    child->tgid = shares.process ? parent.tgid : child->recorded();
    child->fds = shares.fd_table ? parent.fds : std::make_shared<FdTable>(*parent.fds);
    return add_task(std::move(child));
  }
  // Takes a task out of the session without ending it (to put it back
  // under another tid, or to end it apart).
  std::unique_ptr<T> take_task(RecordedTid tid) {
    auto node = tasks_.extract(tid);
    return node ? std::move(node.mapped()) : nullptr;
  }
  // A task that has ended and been reaped: it is forgotten.
  void forget_task(RecordedTid tid) {
    if (std::unique_ptr<T> t = take_task(tid)) t->task->mark_dead();
  }

  // The recorded tids of the live threads of process `tgid`.
  std::vector<RecordedTid> threads_of(RecordedTid tgid) const {
    std::vector<RecordedTid> out;
    for (const auto& [tid, t] : tasks_)
      if (t->tgid == tgid) out.push_back(tid);
    return out;
  }
  size_t thread_count(RecordedTid tgid) const { return threads_of(tgid).size(); }

  // The leader `leader` ended (at its exit stop) while threads of its
  // process live: its thread is kept, unreaped, and its task forgotten.
  void keep_zombie_leader(RecordedTid leader) {
    std::unique_ptr<T> t = take_task(leader);
    if (t) zombies_[leader] = std::move(t->task);
  }
  Task* zombie(RecordedTid leader) const {
    auto it = zombies_.find(leader);
    return it == zombies_.end() ? nullptr : it->second.get();
  }
  // Takes the zombie out: its end has been reaped, or an exec hands its tid on.
  std::unique_ptr<Task> take_zombie(RecordedTid leader) {
    auto node = zombies_.extract(leader);
    return node ? std::move(node.mapped()) : nullptr;
  }
  bool has_zombies() const { return !zombies_.empty(); }

  // Kills process `tgid` (every process when nullopt): its threads, its
  // leader and its zombie leader, reaped in kill_and_reap's order, and
  // forgets them. `last_threads` (tasks the session no longer holds) are
  // killed with them and reaped after the threads it holds.
  void kill_processes(std::optional<RecordedTid> tgid, const std::vector<Task*>& last_threads = {}) {
    auto chosen = [tgid](RecordedTid process) { return !tgid || process == *tgid; };
    std::vector<Task*> threads, leaders;
    for (auto& [tid, t] : tasks_)
      if (chosen(t->tgid)) (t->is_leader() ? leaders : threads).push_back(t->task.get());
    threads.insert(threads.end(), last_threads.begin(), last_threads.end());
    for (auto& [leader, z] : zombies_)
      if (chosen(leader)) leaders.push_back(z.get());
    kill_and_reap(threads, leaders);
    std::erase_if(tasks_, [&](const auto& entry) { return chosen(entry.second->tgid); });
    std::erase_if(zombies_, [&](const auto& entry) { return chosen(entry.first); });
  }

  TaskMap tasks_;

 private:
  std::map<RecordedTid, std::unique_ptr<Task>> zombies_;  // leaders that ended before their threads
};

}  // namespace rr
