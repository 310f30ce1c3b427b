// ReplaySession's second way in: rebuilding a replay from a persistent
// checkpoint, and choosing the checkpoint to start from.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <csignal>
#include <map>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <thread>

#include "checkpoint/checkpoint.h"
#include "core/address_space.h"
#include "core/remote_syscalls.h"
#include "replay/replay_session.h"
#include "util/fatal.h"

namespace rr {

Status ReplaySession::restore(const std::string& checkpoint_path) {
  if (!tasks_.empty()) return make_error("restore needs a fresh replay session");
  auto t_restore = std::chrono::steady_clock::now();
  RR_ASSIGN_OR_RETURN(std::unique_ptr<CheckpointReader> ck, CheckpointReader::open(checkpoint_path, reader_->uuid()));
  try {
    auto info = ck->info();
    if (info.getProcesses().size() != 1 || info.getProcesses()[0].getTasks().size() != 1)
      return make_error("checkpoint " + checkpoint_path + " holds several tasks, which this rr cannot restore yet");
    auto proc = info.getProcesses()[0];
    auto ts = proc.getTasks()[0];
    RR_TRY(spawn_stub(RecordedTid{ts.getRecordedTid()}));
    ReplayTask& rt = *tasks_.begin()->second;
    Task* task = rt.task.get();
    ProcessImage img = image_from_capnp(proc.getImage());
    img.regs = regs_from_capnp(ts.getRegs());
    img.xsave = data_string(ts.getXsave());
    restore_image(*task, img, reader_->dir());

    // Page contents, block by block; adjacent pages go in one write.
    std::vector<std::vector<std::pair<uint64_t, uint32_t>>> by_block(info.getBlocks().size());
    for (auto p : proc.getPages()) {
      if (p.getBlock() >= by_block.size()) return make_error("checkpoint " + checkpoint_path + " is corrupt (bad page block)");
      by_block[p.getBlock()].emplace_back(p.getAddr(), p.getOffset());
    }
    // Two workers, each decompressing and writing every other block: the
    // page faults the writes cause in the tracee then use both cores.
    auto restore_blocks = [&](uint32_t first, uint32_t step, Status* result) {
      std::vector<uint8_t> raw, scratch;
      std::vector<Task::PageWrite> writes;
      for (uint32_t b = first; b < by_block.size(); b += step) {
        auto& pages = by_block[b];
        if (pages.empty()) continue;
        Status st = ck->read_block(b, raw, scratch);
        if (!st.ok()) {
          *result = st;
          return;
        }
        std::sort(pages.begin(), pages.end());
        writes.clear();
        for (const auto& [addr, offset] : pages) {
          if ((uint64_t)offset + kPageSize > raw.size()) {
            *result = make_error("checkpoint " + checkpoint_path + " is corrupt (page past its block)");
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
    std::thread helper(restore_blocks, 1, 2, &second_result);
    restore_blocks(0, 2, &first_result);
    helper.join();
    RR_TRY(first_result);
    RR_TRY(second_result);
    RR_LOG("restore: layout %.3f s, pages %.3f s", std::chrono::duration<double>(t_pages - t_restore).count(),
           std::chrono::duration<double>(std::chrono::steady_clock::now() - t_pages).count());

    // Kernel-side task state.
    {
      RemoteSyscalls rs(*task);
      for (auto a : ts.getSigactions()) {
        if (a.getRaw().size() != 32) return make_error("checkpoint " + checkpoint_path + " is corrupt (sigaction)");
        RemotePtr act = rs.scratch(a.getRaw().begin(), 32);
        rs.checked("restoring a signal action", SYS_rt_sigaction, {(uint64_t)a.getSigno(), act.as_int(), 0, 8});
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
    if (ptrace((__ptrace_request)PTRACE_SETSIGMASK, task->tid(), (void*)sizeof(mask), &mask) != 0)
      fatal_errno("PTRACE_SETSIGMASK");

    // Supervisor state.
    auto c = info.getCounters();
    counters_ = ReplayCounters{c.getSyscalls(), c.getEmulated(), c.getExecuted(), c.getSignals(), c.getRdtsc(), c.getBytesWritten()};
    std::map<int, FdTable::Entry> fds;
    for (auto f : info.getFds()) fds[f.getFd()] = FdTable::Entry{(FdTable::Kind)f.getKind(), f.getCloexec()};
    rt.fds->set_entries(fds);
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
