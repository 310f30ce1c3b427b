// ReplaySession's second way in: rebuilding a replay from a persistent
// checkpoint, and choosing the checkpoint to start from.
#include <algorithm>
#include <mutex>
#include <cerrno>
#include <cstring>
#include <linux/sched.h>
#include <sys/wait.h>
#include <chrono>
#include <cstdio>
#include <csignal>
#include <map>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <thread>

#include "checkpoint/checkpoint.h"
#include "core/address_space.h"
#include "core/pid_namespace.h"
#include "core/rr_page.h"
#include "core/remote_syscalls.h"
#include "replay/replay_session.h"
#include "util/fatal.h"
#include "util/io.h"

namespace rr {

Status ReplaySession::restore_task_state(Task& task, ckpt::TaskState::Reader ts, bool with_actions,
                                         const std::string& path) {
  {
    RemoteSyscalls rs(task);
    if (with_actions) {
      for (auto a : ts.getSigactions()) {
        if (a.getRaw().size() != 32) return make_error("checkpoint " + path + " is corrupt (sigaction)");
        RemotePtr act = rs.scratch(a.getRaw().begin(), 32);
        rs.checked("restoring a signal action", SYS_rt_sigaction, {(uint64_t)a.getSigno(), act.as_int(), 0, 8});
      }
    }
    if (!(ts.getAltStackFlags() & SS_DISABLE)) {
      stack_t ss = {};
      ss.ss_sp = (void*)ts.getAltStackSp();
      ss.ss_flags = ts.getAltStackFlags() & ~SS_ONSTACK;
      ss.ss_size = ts.getAltStackSize();
      RemotePtr p = rs.scratch(&ss, sizeof(ss), 64);
      rs.checked("restoring the signal stack", SYS_sigaltstack, {p.as_int(), 0});
    }
    if (ts.getRobustListHead()) rs.checked("restoring the robust list", SYS_set_robust_list, {ts.getRobustListHead(), ts.getRobustListLen()});
    rs.syscall(SYS_set_tid_address, {ts.getTidAddress()});
  }
  uint64_t mask = ts.getSigmask();
  if (ptrace((__ptrace_request)PTRACE_SETSIGMASK, task.tid(), (void*)sizeof(mask), &mask) != 0)
    fatal_errno("PTRACE_SETSIGMASK");
  return {};
}

namespace {

FdTable fd_table_from(capnp::List<ckpt::FdEntry>::Reader list) {
  std::map<int, FdTable::Entry> fds;
  for (auto f : list) fds[f.getFd()] = FdTable::Entry{(FdTable::Kind)f.getKind(), f.getCloexec()};
  FdTable table;
  table.set_entries(fds);
  return table;
}

}  // namespace

Status ReplaySession::restore(const std::string& checkpoint_path) {
  if (!tasks_.empty()) return make_error("restore needs a fresh replay session");
  RR_ASSIGN_OR_RETURN(std::unique_ptr<CheckpointReader> ck, CheckpointReader::open(checkpoint_path, reader_->uuid()));
  try {
    auto info = ck->info();
    auto procs = info.getProcesses();
    if (procs.size() == 0) return make_error("checkpoint " + checkpoint_path + " is corrupt (no process)");
    for (auto proc : procs) RR_TRY(restore_process(*ck, proc, info.getFds()));
    // A 1.0 file has one process, the first one.
    initial_tid_ = info.getInitialTid() ? info.getInitialTid() : procs[0].getTasks()[0].getRecordedTid();
    exited_ = info.getInitialExited();
    exit_code_ = info.getExitCode();
    killed_by_ = info.getKilledBy();

    // Supervisor state.
    auto c = info.getCounters();
    counters_ = ReplayCounters{c.getSyscalls(), c.getEmulated(), c.getExecuted(), c.getSignals(), c.getRdtsc(), c.getBytesWritten()};
    StreamPos pos{info.getEventsBlock(), info.getEventsIndex()};
    RR_TRY(reader_->seek(pos));
    lookahead_.reset();
    next_frame_pos_ = pos;
    current_event_ = info.getEvent();
  } catch (const FatalError& e) {
    return make_error("cannot restore " + checkpoint_path + ": " + e.what());
  } catch (const kj::Exception& e) {
    return make_error("checkpoint " + checkpoint_path + " is corrupt: " + e.getDescription().cStr());
  }
  return {};
}

Status ReplaySession::restore_process(const CheckpointReader& ck, ckpt::ProcessState::Reader proc,
                                      capnp::List<ckpt::FdEntry>::Reader old_fds) {
  const std::string& path = ck.path();
  auto t_restore = std::chrono::steady_clock::now();
  auto states = proc.getTasks();
  if (states.size() == 0) return make_error("checkpoint " + path + " is corrupt (a process without tasks)");
  pid_t tgid = proc.getTgid() ? proc.getTgid() : states[0].getRecordedTid();
  if (states[0].getRecordedTid() != tgid || tasks_.count(tgid))
    return make_error("checkpoint " + path + " is corrupt (process " + std::to_string(tgid) + ")");
  auto leader = std::make_unique<ReplayTask>();
  RR_ASSIGN_OR_RETURN(leader->task, spawn_process(RecordedTid{tgid}));
  leader->tgid = tgid;
  leader->fds = std::make_shared<FdTable>(fd_table_from(proc.hasFds() || proc.getTgid() ? proc.getFds() : old_fds));
  leader->where = states[0].getAtSyscallEntry() ? ReplayTask::Where::AtEntry : ReplayTask::Where::AtEvent;
  ReplayTask& rt = *leader;
  tasks_[tgid] = std::move(leader);
  Task* task = rt.task.get();
  ProcessImage img = image_from_capnp(proc.getImage());
  img.regs = regs_from_capnp(states[0].getRegs());
  img.xsave = data_string(states[0].getXsave());
  restore_image(*task, img, reader_->dir());

  // Page contents. The pages of each block (in address order) are cut into
  // pieces of at most 4 MiB of tracee memory, which two workers take in
  // turn: a block referenced by many addresses (a page stored once for a
  // whole region) is then shared out as evenly as the rest. Each worker
  // keeps its last decompressed block. The page faults of the writes are
  // most of the cost, and this spreads them over both cores.
  size_t nblocks = ck.info().getBlocks().size();
  std::vector<std::vector<std::pair<uint64_t, uint32_t>>> by_block(nblocks);
  for (auto p : proc.getPages()) {
    if (p.getBlock() >= nblocks) return make_error("checkpoint " + path + " is corrupt (bad page block)");
    by_block[p.getBlock()].emplace_back(p.getAddr(), p.getOffset());
  }
  struct Piece {
    uint32_t block;
    size_t begin, end;  // into by_block[block]
  };
  const size_t kPiecePages = 1024;
  std::vector<Piece> pieces;
  for (uint32_t b = 0; b < nblocks; ++b) {
    auto& pages = by_block[b];
    if (!std::is_sorted(pages.begin(), pages.end())) std::sort(pages.begin(), pages.end());
    for (size_t i = 0; i < pages.size(); i += kPiecePages) pieces.push_back({b, i, std::min(pages.size(), i + kPiecePages)});
  }
  // One worker takes pieces from the front, the other from the back, so
  // that they rarely touch the same page tables at once.
  std::mutex pieces_lock;
  size_t front = 0, back = pieces.size();
  auto take = [&](bool from_front, size_t* k) {
    std::lock_guard<std::mutex> g(pieces_lock);
    if (front == back) return false;
    *k = from_front ? front++ : --back;
    return true;
  };
  auto restore_pieces = [&](bool from_front, Status* result) {
    std::vector<uint8_t> raw, scratch;
    std::vector<Task::PageWrite> writes;
    uint32_t have = UINT32_MAX;
    size_t k;
    while (take(from_front, &k)) {
      const Piece& piece = pieces[k];
      if (piece.block != have) {
        Status st = ck.read_block(piece.block, raw, scratch);
        if (!st.ok()) {
          *result = st;
          return;
        }
        have = piece.block;
      }
      writes.clear();
      for (size_t i = piece.begin; i < piece.end; ++i) {
        const auto& [addr, offset] = by_block[piece.block][i];
        if ((uint64_t)offset + kPageSize > raw.size()) {
          *result = make_error("checkpoint " + path + " is corrupt (page past its block)");
          return;
        }
        writes.push_back({RemotePtr(addr), raw.data() + offset});
      }
      try {
        task->write_pages(writes);
      } catch (const FatalError& e) {
        *result = make_error(e.what());
        return;
      }
    }
  };
  auto t_pages = std::chrono::steady_clock::now();
  Status second_result, first_result;
  // Nothing may leave a worker by an exception: the helper thread must be joined.
  auto guarded = [&](bool from_front, Status* result) {
    try {
      restore_pieces(from_front, result);
    } catch (const std::exception& e) {
      *result = make_error("restoring pages of " + path + ": " + e.what());
    } catch (...) {
      *result = make_error("restoring pages of " + path + " failed");
    }
  };
  std::thread helper(guarded, false, &second_result);
  guarded(true, &first_result);
  helper.join();
  RR_TRY(first_result);
  RR_TRY(second_result);
  RR_LOG("restore %d: layout %.3f s, pages %.3f s", tgid, std::chrono::duration<double>(t_pages - t_restore).count(),
         std::chrono::duration<double>(std::chrono::steady_clock::now() - t_pages).count());

  RR_TRY(restore_task_state(*task, states[0], true, path));
  for (size_t k = 1; k < states.size(); ++k) {
    auto ts = states[k];
    pid_t tid = ts.getRecordedTid();
    if (tid <= 0 || tasks_.count(tid)) return make_error("checkpoint " + path + " is corrupt (task " + std::to_string(tid) + ")");
    auto thread = std::make_unique<ReplayTask>();
    RR_ASSIGN_OR_RETURN(thread->task, clone_thread(*task, RecordedTid{tid}));
    thread->tgid = tgid;
    thread->fds = rt.fds;
    thread->where = ts.getAtSyscallEntry() ? ReplayTask::Where::AtEntry : ReplayTask::Where::AtEvent;
    Task& t = *thread->task;
    tasks_[tid] = std::move(thread);
    t.set_regs(regs_from_capnp(ts.getRegs()));
    t.set_xsave(data_string(ts.getXsave()));
    RR_TRY(restore_task_state(t, ts, false, path));
  }
  return {};
}

Result<std::unique_ptr<Task>> ReplaySession::clone_thread(Task& leader, RecordedTid recorded) {
  // clone3 inside the leader, from the rr page: the new thread stops before
  // it runs anything (its registers are set next), the leader returns into
  // the int3 after the syscall instruction.
  struct clone_args args;
  memset(&args, 0, sizeof(args));
  args.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
  int32_t want = recorded.value;
  bool exact = ns_ != nullptr;
  if (exact) {
    args.set_tid = kRrScratch + sizeof(args);
    args.set_tid_size = 1;
  }
  Registers saved = leader.regs();
  std::string saved_scratch = leader.read_bytes(RemotePtr(kRrScratch), sizeof(args) + sizeof(want));
  struct PutBack {
    Task& t;
    const std::string& bytes;
    ~PutBack() { t.write_mem(RemotePtr(kRrScratch), bytes.data(), bytes.size()); }
  } put_back{leader, saved_scratch};
  for (int attempt = 0; attempt < 2; ++attempt) {
    leader.write_mem(RemotePtr(kRrScratch), &args, sizeof(args));
    leader.write_mem(RemotePtr(kRrScratch + sizeof(args)), &want, sizeof(want));
    Registers r = saved;
    r.set_ip(RemotePtr(kRrSyscallInsn));
    r.set_syscall_result(SYS_clone3);
    r.set_syscallno(-1);
    r.set_arg(0, kRrScratch);
    r.set_arg(1, sizeof(args));
    leader.set_regs(r);
    leader.resume(ResumeHow::Cont);
    WaitStatus st = leader.wait();
    if (st.ptrace_event() == PTRACE_EVENT_CLONE) {
      pid_t live = (pid_t)leader.event_msg();
      int cstatus = 0;
      while (waitpid(live, &cstatus, __WALL) < 0)
        if (errno != EINTR) return make_error("the restored thread vanished: " + errno_text());
      auto thread = std::make_unique<Task>(live, recorded);
      leader.resume(ResumeHow::Cont);
      st = leader.wait();
      if (st.stop_sig() != SIGTRAP) return make_error("restoring a thread: the leader stopped with " + st.describe());
      leader.set_regs(saved);
      if (!WaitStatus(cstatus).stopped()) return make_error("the restored thread ended at once");
      return thread;
    }
    if (st.stop_sig() != SIGTRAP) return make_error("restoring a thread: clone3 stopped with " + st.describe());
    int64_t err = leader.regs().syscall_result();
    if (!args.set_tid_size) return make_error("restoring a thread: clone3 failed: " + std::string(strerror((int)-err)));
    // The tid is taken: any will do, translated like any other.
    args.set_tid = 0;
    args.set_tid_size = 0;
  }
  leader.set_regs(saved);
  return make_error("restoring a thread: clone3 failed");
}

Result<std::unique_ptr<ReplaySession>> ReplaySession::open_at(const std::string& trace_dir, uint64_t target,
                                                              bool ignore_checkpoints) {
  RR_ASSIGN_OR_RETURN(std::unique_ptr<ReplaySession> s, open(trace_dir));
  if (ignore_checkpoints) return s;
  std::vector<CheckpointEntry> list = list_checkpoints(s->reader_->dir(), s->reader_->uuid());
  for (auto it = list.rbegin(); it != list.rend(); ++it) {
    if (target != 0 && it->event > target) continue;
    if (!it->problem.empty()) {
      fprintf(stderr, "rr: skipping checkpoint %s: %s\n", it->path.c_str(), it->problem.c_str());
      continue;
    }
    Status st = s->restore(it->path);
    if (st.ok()) return s;
    fprintf(stderr, "rr: skipping checkpoint: %s\n", st.error().message.c_str());
    RR_ASSIGN_OR_RETURN(s, open(trace_dir));
  }
  return s;
}

}  // namespace rr
