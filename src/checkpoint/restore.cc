// Restoring a replay from a persistent checkpoint file (the reverse of
// checkpoint.cc's writer): every process is made afresh with its recorded
// pid, its image rebuilt, its pages written by two workers, its threads
// cloned inside it, their registers and kernel state set, and the
// supervisor state and the trace reader put at the checkpoint's event.
#include "checkpoint/restore.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <ctime>
#include <chrono>
#include <future>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include <sys/syscall.h>

#include <kj/exception.h>

#include "checkpoint/checkpoint.h"
#include "checkpoint/shared_objects.h"
#include "core/address_space.h"
#include "core/remote_syscalls.h"
#include "core/task_state.h"
#include "replay/replay_session.h"
#include "util/fatal.h"
#include "util/invariant.h"
#include "util/io.h"

namespace rr {

namespace {

FdTable fd_table_from(capnp::List<ckpt::FdEntry>::Reader list) {
  std::map<int, FdTable::Entry> fds;
  for (auto f : list) fds[f.getFd()] = FdTable::Entry{(FdTable::Kind)f.getKind(), f.getCloexec()};
  FdTable table;
  table.set_entries(fds);
  return table;
}

TaskKernelState kernel_state_from(ckpt::TaskState::Reader ts) {
  TaskKernelState k;
  k.sigmask = ts.getSigmask();
  for (auto a : ts.getSigactions()) k.sigactions.emplace_back(a.getSigno(), data_string(a.getRaw()));
  k.altstack_sp = ts.getAltStackSp();
  k.altstack_flags = ts.getAltStackFlags();
  k.altstack_size = ts.getAltStackSize();
  // None was ever set: left as the fresh task has it (flags 0).
  if (ts.getAltStackNeverSet()) k.altstack_flags = 0, k.altstack_size = 0;
  k.robust_list_head = ts.getRobustListHead();
  k.robust_list_len = ts.getRobustListLen();
  k.tid_address = ts.getTidAddress();
  return k;
}


// Where a pages phase spent its time, summed over both workers, for
// RR_LOG: reading blocks (pread, decompression, page hashes) and writing
// pages into the tracee (process_vm_writev, whose faults allocate and clear
// the fresh pages), each as wall time and as the workers' own CPU time
// (which a loaded machine does not inflate).
struct PagesPhase {
  double read_wall = 0, read_cpu = 0, write_wall = 0, write_cpu = 0;
  uint64_t blocks = 0, block_bytes = 0, pages = 0, pieces[2] = {0, 0};
};

// The calling thread's CPU time, in seconds.
double thread_cpu_seconds() {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Writes the pages of one process of checkpoint `ck` into `task`'s memory.
Status restore_pages(const CheckpointReader& ck, ckpt::ProcessState::Reader proc, Task& task, PagesPhase& phase) {
  const std::string& path = ck.path();
  // Page contents. The pages of each block (in address order) are cut into
  // pieces of at most 4 MiB of tracee memory, which two workers take in
  // turn: a block referenced by many addresses (a page stored once for a
  // whole region) is then shared out as evenly as the rest. Each worker
  // keeps its last decompressed block. The page faults of the writes are
  // most of the cost, and this spreads them over both cores.
  size_t nblocks = ck.block_count();
  std::vector<std::vector<std::pair<uint64_t, uint32_t>>> by_block(nblocks);
  for (auto p : proc.getPages()) {
    if (ck.block_of(p) >= nblocks || (p.getInBase() && !ck.base()))
      return make_error(ErrorKind::CorruptCheckpoint, "checkpoint " + path + " is corrupt (bad page block)");
    by_block[ck.block_of(p)].emplace_back(p.getAddr(), p.getOffset());
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
  auto restore_pieces = [&](bool from_front, Status* result, PagesPhase* mine) {
    std::vector<uint8_t> raw, scratch;
    std::vector<Task::PageWrite> writes;
    uint32_t have = UINT32_MAX;
    size_t k;
    while (take(from_front, &k)) {
      const Piece& piece = pieces[k];
      ++mine->pieces[from_front ? 0 : 1];
      if (piece.block != have) {
        auto wall = std::chrono::steady_clock::now();
        double cpu = thread_cpu_seconds();
        Status st = ck.read_block(piece.block, raw, scratch);
        if (!st.ok()) {
          *result = st;
          return;
        }
        have = piece.block;
        mine->read_cpu += thread_cpu_seconds() - cpu;
        mine->read_wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
        ++mine->blocks;
        mine->block_bytes += raw.size();
      }
      writes.clear();
      for (size_t i = piece.begin; i < piece.end; ++i) {
        const auto& [addr, offset] = by_block[piece.block][i];
        if ((uint64_t)offset + kPageSize > raw.size()) {
          *result = make_error(ErrorKind::CorruptCheckpoint, "checkpoint " + path + " is corrupt (page past its block)");
          return;
        }
        writes.push_back({RemotePtr<>(addr), raw.data() + offset});
      }
      auto wall = std::chrono::steady_clock::now();
      double cpu = thread_cpu_seconds();
      try {
        task.write_pages(writes);
      } catch (const FatalError& e) {
        *result = make_error(e.what());
        return;
      }
      mine->write_cpu += thread_cpu_seconds() - cpu;
      mine->write_wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
      mine->pages += writes.size();
    }
  };
  Status second_result, first_result;
  // Nothing may leave a worker by an exception: the helper thread must be joined.
  PagesPhase own[2];
  auto guarded = [&](bool from_front, Status* result) {
    try {
      restore_pieces(from_front, result, &own[from_front ? 0 : 1]);
    } catch (const std::exception& e) {
      *result = make_error("restoring pages of " + path + ": " + e.what());
    } catch (...) {
      *result = make_error("restoring pages of " + path + " failed");
    }
  };
  std::thread helper(guarded, false, &second_result);
  guarded(true, &first_result);
  helper.join();
  for (const PagesPhase& w : own) {
    phase.read_wall += w.read_wall;
    phase.read_cpu += w.read_cpu;
    phase.write_wall += w.write_wall;
    phase.write_cpu += w.write_cpu;
    phase.blocks += w.blocks;
    phase.block_bytes += w.block_bytes;
    phase.pages += w.pages;
  }
  phase.pieces[0] = own[0].pieces[0];
  phase.pieces[1] = own[1].pieces[1];
  RR_TRY(first_result);
  return second_result;
}

// The protection keys the process held, allocated again, and its tagged
// pages tagged again. The kernel hands out the lowest free key, so every
// key up to the highest needed one is taken and the others given back. A
// key the program freed while pages still carry it (the kernel allows
// that) is taken for the tagging and given back after. PKRU, the rights
// through each key, comes back with the FPU state after this.
Status restore_pkeys(Task& t, const ProcessImage& img, uint16_t held, const std::string& path) {
  uint16_t needed = held;
  for (const MappingRecord& m : img.mappings) {
    if (m.pkey < 0 || m.pkey >= 16)
      return make_error(ErrorKind::CorruptCheckpoint,
                        "checkpoint " + path + " is corrupt (protection key " + std::to_string(m.pkey) + ")");
    if (m.pkey != 0) needed |= (uint16_t)(1u << m.pkey);
  }
  if (needed == 0) return {};
  // Not usable on this machine, where an earlier checkpoint may be.
  if (!os_has_pkeys())
    return make_error(ErrorKind::CorruptCheckpoint, "checkpoint " + path + " holds memory protection keys, which this "
                                                    "machine does not have (pkey_alloc)");
  RemoteSyscalls rs(t);
  std::vector<int64_t> spare;
  uint16_t got = 0;
  while ((got & needed) != needed) {
    int64_t key = rs.syscall(SYS_pkey_alloc, {0, 0});
    if (key <= 0 || key >= 16)
      return make_error("allocating protection keys in a restored process failed: " +
                        std::string(key < 0 ? strerror((int)-key) : "an unexpected key"));
    if (needed & (1u << key))
      got |= (uint16_t)(1u << key);
    else
      spare.push_back(key);
  }
  for (int64_t key : spare) rs.syscall(SYS_pkey_free, {(uint64_t)key});
  for (const MappingRecord& m : img.mappings) {
    if (m.pkey == 0) continue;
    int64_t r = rs.syscall(SYS_pkey_mprotect, {m.start.as_int(), m.end - m.start, (uint64_t)m.prot, (uint64_t)m.pkey});
    if (r != 0) {
      char at[32];
      snprintf(at, sizeof at, "0x%" PRIx64, m.start.as_int());
      return make_error(std::string("tagging memory at ") + at + " with protection key " + std::to_string(m.pkey) +
                        " in a restored process failed: " + strerror(r < 0 ? (int)-r : EINVAL));
    }
  }
  for (int key = 1; key < 16; ++key)
    if ((needed & ~held) & (1u << key)) rs.syscall(SYS_pkey_free, {(uint64_t)key});
  return {};
}

// A task's XSAVE area from the checkpoint: one the kernel refuses (reserved
// bits of MXCSR or of the header set) comes from a damaged or forged file.
Status set_checkpoint_xsave(Task& t, const std::string& area, const std::string& path, pid_t tid) {
  if (t.try_set_xsave(area)) return {};
  if (errno != EINVAL) return make_error("cannot set the XSAVE area of task " + std::to_string(tid) + ": " + errno_text());
  return make_error(ErrorKind::CorruptCheckpoint, "checkpoint " + path + " is corrupt (the kernel refuses the XSAVE area of task " +
                                                      std::to_string(tid) + ")");
}

// One process of a checkpoint: a fresh process with its recorded pid, its
// image rebuilt, its pages written, its other threads cloned inside it.
// Its shared mappings come from `objects`; a process that shares an fd
// table with an earlier one (fdTableOf) gets that one's from `tables`.
Status restore_process(ReplaySession& s, const CheckpointReader& ck, ckpt::ProcessState::Reader proc,
                       capnp::List<ckpt::FdEntry>::Reader old_fds, const SharedObjectRestorer& objects,
                       std::map<pid_t, std::shared_ptr<FdTable>>& tables) {
  const std::string& path = ck.path();
  auto t_restore = std::chrono::steady_clock::now();
  auto states = proc.getTasks();
  if (states.size() == 0) return make_error(ErrorKind::CorruptCheckpoint, "checkpoint " + path + " is corrupt (a process without tasks)");
  pid_t tgid = proc.getTgid() ? proc.getTgid() : states[0].getRecordedTid();
  if (states[0].getRecordedTid() != tgid || s.find_task(RecordedTid{tgid}))
    return make_error(ErrorKind::CorruptCheckpoint, "checkpoint " + path + " is corrupt (process " + std::to_string(tgid) + ")");
  auto leader = std::make_unique<ReplayTask>();
  RR_ASSIGN_OR_RETURN(leader->task, s.spawn_process(RecordedTid{tgid}));
  leader->where = states[0].getAtSyscallEntry() ? ReplayTask::Where::AtEntry : ReplayTask::Where::AtEvent;
  leader->filtered = states[0].getSeccompFiltered();
  leader->altstack_disabled = kernel_state_from(states[0]).altstack_flags & SS_DISABLE;
  std::shared_ptr<FdTable> table;
  if (proc.getFdTableOf() != 0) {
    auto shared = tables.find(proc.getFdTableOf());
    if (shared == tables.end()) return make_error(ErrorKind::CorruptCheckpoint, "checkpoint " + path + " is corrupt (fd table of an unknown process)");
    table = shared->second;
  } else {
    table = std::make_shared<FdTable>(fd_table_from(proc.hasFds() || proc.getTgid() ? proc.getFds() : old_fds));
  }
  tables[tgid] = table;
  ReplayTask& rt = s.adopt_process(std::move(leader), table);
  Task* task = rt.task.get();
  auto t_spawned = std::chrono::steady_clock::now();
  ProcessImage img = image_from_capnp(proc.getImage());
  img.regs = regs_from_capnp(states[0].getRegs());
  // Set after the image, where a refusal is an error rather than fatal.
  img.xsave = task->xsave();
  // The trace's copies of the mapped files are checked against its sums
  // (reading and hashing them all: java maps 166 MB of them) while the
  // layout is rebuilt and the pages are written: nothing runs in the
  // process before all is done, and a damaged file fails the restore as
  // before. The check touches only the trace reader and `img`.
  auto sums = std::async(std::launch::async, [&s, &img] { return s.check_image_files(img); });
  try {
    restore_image(*task, img, s.trace_dir());
  } catch (const FatalError&) {
    // A missing file copy is the trace's fault, which the check names.
    RR_TRY(sums.get());
    throw;
  }
  auto t_mapped = std::chrono::steady_clock::now();
  RR_TRY(objects.map_into(*task, proc, img));
  RR_TRY(restore_pkeys(*task, img, proc.getPkeys(), path));
  RR_TRY(set_checkpoint_xsave(*task, data_string(states[0].getXsave()), path, tgid));

  auto t_pages = std::chrono::steady_clock::now();
  PagesPhase phase;
  Status pages = restore_pages(ck, proc, *task, phase);
  auto t_written = std::chrono::steady_clock::now();
  // A damaged file copy is named before what it may have caused.
  RR_TRY(sums.get());
  RR_TRY(std::move(pages));
  auto seconds = [](auto from, auto to) { return std::chrono::duration<double>(to - from).count(); };
  auto t_checked = std::chrono::steady_clock::now();
  RR_LOG("restore %d: layout %.3f s (process %.3f s, mappings %.3f s, shared %.3f s), pages %.3f s (%u written), file "
         "sums done %.3f s after", tgid, seconds(t_restore, t_pages), seconds(t_restore, t_spawned),
         seconds(t_spawned, t_mapped), seconds(t_mapped, t_pages), seconds(t_pages, t_written), proc.getPages().size(),
         seconds(t_written, t_checked));
  RR_LOG("restore %d: pages: %" PRIu64 " blocks read (%.1f MB) %.3f s wall, %.3f s CPU; %" PRIu64 " pages written "
         "%.3f s wall, %.3f s CPU; pieces %" PRIu64 " + %" PRIu64, tgid, phase.blocks, phase.block_bytes / 1e6,
         phase.read_wall, phase.read_cpu, phase.pages, phase.write_wall, phase.write_cpu, phase.pieces[0], phase.pieces[1]);

  RR_TRY(kernel_state_from(states[0]).apply(*task, true, "checkpoint " + path));
  for (size_t k = 1; k < states.size(); ++k) {
    auto ts = states[k];
    pid_t tid = ts.getRecordedTid();
    if (tid <= 0 || s.find_task(RecordedTid{tid})) return make_error(ErrorKind::CorruptCheckpoint, "checkpoint " + path + " is corrupt (task " + std::to_string(tid) + ")");
    auto thread = std::make_unique<ReplayTask>();
    RR_ASSIGN_OR_RETURN(thread->task, s.clone_thread(*task, RecordedTid{tid}));
    thread->where = ts.getAtSyscallEntry() ? ReplayTask::Where::AtEntry : ReplayTask::Where::AtEvent;
    thread->filtered = ts.getSeccompFiltered();
    thread->altstack_disabled = kernel_state_from(ts).altstack_flags & SS_DISABLE;
    Task& t = *s.adopt_thread(rt, std::move(thread)).task;
    t.set_regs(regs_from_capnp(ts.getRegs()));
    RR_TRY(set_checkpoint_xsave(t, data_string(ts.getXsave()), path, tid));
    RR_TRY(kernel_state_from(ts).apply(t, false, "checkpoint " + path));
  }
  return {};
}

}  // namespace

Status restore_checkpoint(ReplaySession& s, const std::string& checkpoint_path) {
  if (!s.tasks().empty()) return make_error("restore needs a fresh replay session");
  auto t_open = std::chrono::steady_clock::now();
  RR_ASSIGN_OR_RETURN(std::unique_ptr<CheckpointReader> ck, CheckpointReader::open(checkpoint_path, s.reader().uuid()));
  RR_LOG("restore: opening %s %.3f s", checkpoint_path.c_str(),
         std::chrono::duration<double>(std::chrono::steady_clock::now() - t_open).count());
  try {
    auto info = ck->info();
    auto procs = info.getProcesses();
    if (procs.size() == 0) return make_error(ErrorKind::CorruptCheckpoint, "checkpoint " + checkpoint_path + " is corrupt (no process)");
    RR_ASSIGN_OR_RETURN(SharedObjectRestorer objects, SharedObjectRestorer::load(*ck));
    std::map<pid_t, std::shared_ptr<FdTable>> tables;
    for (auto proc : procs) RR_TRY(restore_process(s, *ck, proc, info.getFds(), objects, tables));
    objects.hand_over(s);
    // The supervisor state.
    SupervisorState sup;
    sup.event = info.getEvent();
    sup.next_frame = StreamPos{info.getEventsBlock(), info.getEventsIndex()};
    auto c = info.getCounters();
    sup.counters = ReplayCounters{c.getSyscalls(), c.getEmulated(), c.getExecuted(), c.getSignals(), c.getRdtsc(), c.getBytesWritten()};
    // A 1.0 file has one process, the first one.
    sup.initial_tid = RecordedTid{info.getInitialTid() ? info.getInitialTid() : procs[0].getTasks()[0].getRecordedTid()};
    sup.exited = info.getInitialExited();
    sup.exit_code = info.getExitCode();
    sup.killed_by = info.getKilledBy();
    RR_TRY(s.set_supervisor_state(sup));
    // The trace is the truth: what the file says of the FPU (which no other
    // check compares) must be what the recording had at the event. A file
    // taken inside an event (a gdb position) has no frame to compare with.
    if (info.getPosition().size() == 0) RR_TRY(s.check_restored_fpu("checkpoint " + checkpoint_path));
    RR_LOG("restore: %.3f s in all", std::chrono::duration<double>(std::chrono::steady_clock::now() - t_open).count());
  } catch (const FatalError& e) {
    return make_error("cannot restore " + checkpoint_path + ": " + e.what());
  } catch (const kj::Exception& e) {
    return kj_error(e, ErrorKind::CorruptCheckpoint, "checkpoint " + checkpoint_path + " is corrupt: ");
  }
  return {};
}

Result<std::unique_ptr<ReplaySession>> open_replay_at(const std::string& trace_dir, uint64_t target,
                                                      bool ignore_checkpoints) {
  RR_ASSIGN_OR_RETURN(std::unique_ptr<ReplaySession> s, ReplaySession::open(trace_dir));
  if (ignore_checkpoints) return s;
  std::vector<CheckpointEntry> list = list_checkpoints(s->trace_dir(), s->reader().uuid());
  // Files passed over for the same reason (every checkpoint after a
  // pkey_alloc, on a machine without protection keys) are told in one
  // line, when the search ends.
  struct Skipped {
    std::string reason;  // the first one's message, its path replaced by {}
    std::string message;
    std::vector<uint64_t> events;
  };
  std::vector<Skipped> skipped;
  auto tell_skipped = [&skipped] {
    for (const Skipped& k : skipped) {
      if (k.events.size() == 1) {
        fprintf(stderr, "rr: skipping checkpoint: %s\n", k.message.c_str());
        continue;
      }
      std::string events;
      for (size_t i = 0; i < k.events.size(); ++i)
        events += (i == 0 ? "" : i + 1 == k.events.size() ? " and " : ", ") + std::to_string(k.events[i]);
      fprintf(stderr, "rr: skipping checkpoints at events %s, all for one reason: %s\n", events.c_str(),
              k.message.c_str());
    }
    skipped.clear();
  };
  for (auto it = list.rbegin(); it != list.rend(); ++it) {
    if (target != 0 && it->event > target) continue;
    if (!it->problem.empty()) {
      fprintf(stderr, "rr: skipping checkpoint %s: %s\n", it->path.c_str(), it->problem.c_str());
      continue;
    }
    Status st = restore_checkpoint(*s, it->path);
    if (st.ok()) {
      tell_skipped();
      return s;
    }
    // Only a bad file is passed over for an earlier one: any other failure
    // (a tracee gone, a refused syscall, a bug) would recur from there too,
    // or hide a fault of the engine behind a slower replay.
    // A damaged trace (its events or file copies) is not the checkpoint's fault.
    if (st.error().kind != ErrorKind::CorruptCheckpoint) tell_skipped();
    if (st.error().kind == ErrorKind::Corrupt) return st.take_error();
    if (st.error().kind != ErrorKind::CorruptCheckpoint)
      return make_error(st.error().kind, "cannot start from checkpoint " + it->path + ": " + st.error().message +
                                             " (--ignore-pcp replays from the start)");
    std::string reason = st.error().message;
    for (size_t at; (at = reason.find(it->path)) != std::string::npos;) reason.replace(at, it->path.size(), "{}");
    auto same = std::find_if(skipped.begin(), skipped.end(), [&](const Skipped& k) { return k.reason == reason; });
    if (same != skipped.end()) same->events.push_back(it->event);
    else skipped.push_back({reason, st.error().message, {it->event}});
    RR_ASSIGN_OR_RETURN(s, ReplaySession::open(trace_dir));
  }
  tell_skipped();
  return s;
}

}  // namespace rr
