#include "gdb/gdb_server.h"

#include <algorithm>
#include <map>
#include <cstring>
#include <sys/mman.h>
#include <sys/user.h>
#include <unistd.h>

#include "core/address_space.h"
#include "core/progress_counter.h"
#include "gdb/gdb_target.h"
#include "gdb/library_list.h"
#include "gdb/monitor_commands.h"
#include "util/fatal.h"
#include "util/io.h"

namespace rr {

namespace {

std::string hex_byte(int v) {
  char b[4];
  snprintf(b, sizeof b, "%02x", v & 0xff);
  return b;
}

std::string stop_signal_hex(int sig) { return hex_byte(gdb_signal(sig)); }

}  // namespace

ReplayTask* GdbServer::find_thread(pid_t tid) const {
  ReplaySession* s = shown();
  if (!s) return nullptr;
  auto it = s->tasks().find(RecordedTid{tid});
  if (it == s->tasks().end() || !debugs(it->second->tgid.value)) return nullptr;
  // Without the multiprocess extensions gdb sees one process.
  if (!multiprocess_ && it->second->tgid != RecordedTid{timeline_->debugged()}) return nullptr;
  return it->second.get();
}

ReplayTask* GdbServer::thread_of(pid_t pid) const {
  if (ReplayTask* leader = find_thread(pid); leader && leader->tgid.value == pid) return leader;
  if (!shown()) return nullptr;
  for (const auto& [tid, rt] : shown()->tasks())
    if (rt->tgid.value == pid && find_thread(tid.value)) return rt.get();
  return nullptr;
}

pid_t GdbServer::process_of(pid_t tid) const {
  ReplayTask* rt = find_thread(tid);
  return rt ? rt->tgid.value : 0;
}

ReplayTask* GdbServer::any_thread() { return find_thread(current_thread()); }

pid_t GdbServer::current_thread() {
  if (find_thread(g_thread_)) return g_thread_;
  if (find_thread(stop_.tid)) return stop_.tid;
  ReplayTask* t = thread_of(timeline_->debugged());
  if (!t && shown())
    for (const auto& [tid, rt] : shown()->tasks())
      if (find_thread(tid.value)) return tid.value;
  return t ? t->recorded().value : 0;
}

std::string GdbServer::thread_id(pid_t tid) const {
  if (!multiprocess_) return hex_u64(tid);
  pid_t pid = process_of(tid);
  return "p" + hex_u64(pid ? pid : tid) + "." + hex_u64(tid);
}

ProcessTraps GdbServer::traps() const {
  ProcessTraps all;
  for (const auto& [pid, b] : breaks_)
    if (!b.traps.empty()) all[pid] = b.traps;
  return all;
}

std::string GdbServer::attach(pid_t pid) {
  if (!multiprocess_ || !session_ || diversion_) return "E01";
  auto it = session_->tasks().find(RecordedTid{pid});
  if (it == session_->tasks().end() || it->second->tgid.value != pid) {
    fprintf(stderr, "rr: process %d does not exist at this point of the replay (see rr ps)\n", pid);
    return "E01";
  }
  detached_.erase(pid);
  known_.insert(pid);
  // Stopped where the replay stands, with no signal: the stop gdb now
  // knows of (qC and ? name that process's thread).
  stop_ = StopInfo{};
  stop_.tid = g_thread_ = c_thread_ = pid;
  g_process_ = pid;
  return "T00thread:" + thread_id(pid) + ";";
}

bool GdbServer::detach(pid_t pid) {
  if (!multiprocess_ || !pid) return false;
  detached_.insert(pid);
  breaks_.erase(pid);
  // Also one gdb holds that does not exist at this point (the replay went
  // back before its fork): gdb lets go of it too before it ends.
  for (pid_t p : known_)
    if (!detached_.count(p)) return true;
  return false;
}

TimelineJump GdbServer::leave(TimelineJump j) {
  end_diversion();
  session_ = nullptr;
  range_tid_ = 0;
  return j;
}

std::string GdbServer::stop_reply() const {
  std::string thread = "thread:" + thread_id(stop_.tid) + ";";
  switch (stop_.kind) {
    case StopInfo::Ended:
      return end_reply();
    case StopInfo::ProcessExit:
      // rr's way: the process is still there, "killed" (gdb can go back
      // from here); how it ended comes with the next forward resume.
      return end_told_ ? end_reply() : "T09" + thread;
    case StopInfo::Interrupted:
      return "T02" + thread;
    case StopInfo::Signal:
      return std::string("T") + stop_signal_hex(stop_.sig) + thread;
    case StopInfo::Exec:
      return "T05" + thread + "exec:" + to_hex(exec_file_) + ";";
    case StopInfo::Fork:
      return std::string(stop_.vfork ? "T05vfork:p" : "T05fork:p") + hex_u64(stop_.child) + "." + hex_u64(stop_.child) +
             ";" + thread;
    case StopInfo::VforkDone:
      return "T05vforkdone:;" + thread;
    default:
      break;
  }
  std::string r = "T05" + thread;
  if (stop_.kind == StopInfo::HistoryBegin) r += "replaylog:begin;";
  if (stop_.kind == StopInfo::Hit) {
    if (stop_.hit.kind == TrapHit::Software) r += "swbreak:;";
    else if (stop_.hit.kind == TrapHit::Hardware) {
      switch (stop_.hit.watch) {
        case WatchKind::Exec: r += "hwbreak:;"; break;
        case WatchKind::Write: r += "watch:" + hex_u64(stop_.hit.addr.as_int()) + ";"; break;
        case WatchKind::Read: r += "rwatch:" + hex_u64(stop_.hit.addr.as_int()) + ";"; break;
        case WatchKind::Access: r += "awatch:" + hex_u64(stop_.hit.addr.as_int()) + ";"; break;
      }
    }
  }
  return r;
}

std::string GdbServer::end_reply() const {
  // With the multiprocess extensions, which process ended.
  std::string process = multiprocess_ ? ";process:" + hex_u64(stop_.process ? stop_.process : timeline_->debugged()) : "";
  if (stop_.killed_by) return std::string("X") + stop_signal_hex(stop_.killed_by) + process;
  return "W" + hex_byte(stop_.exit_code & 0xff) + process;
}

std::optional<std::string> GdbServer::tell_end() {
  if (stop_.kind != StopInfo::ProcessExit) return std::nullopt;
  if (!end_told_) {
    // gdb mourns the process: it no longer debugs it, here or elsewhere.
    end_told_ = true;
    pid_t ended = stop_.process ? stop_.process : timeline_->debugged();
    known_.erase(ended);
    breaks_.erase(ended);
    return end_reply();
  }
  // The replay goes past the exit only for the other processes gdb debugs.
  for (const auto& [tid, rt] : session_->tasks())
    if (debugs(rt->tgid.value)) return std::nullopt;
  return end_reply();
}

std::variant<Resume, TimelineJump> GdbServer::stopped(ReplaySession& s, const StopInfo& stop) {
  end_diversion();
  session_ = &s;
  stop_ = stop;
  stop_.quiet = false;
  end_told_ = false;
  g_thread_ = 0;
  // The timeline reports stops of the processes gdb debugs.
  if (ReplayTask* rt = s.find_task(RecordedTid{stop_.tid}); rt && !detached_.count(rt->tgid.value)) known_.insert(rt->tgid.value);
  if (!find_thread(stop_.tid)) {
    ReplayTask* t = any_thread();
    if (t) stop_.tid = t->recorded().value;
  }
  g_thread_ = c_thread_ = stop_.tid;
  g_process_ = process_of(stop_.tid);
  if (stop_.kind == StopInfo::Fork) {
    // gdb takes the child on (an inferior of its own) or detaches from it.
    detached_.erase(stop_.child);
    known_.insert(stop_.child);
    if (stop_.vfork) vfork_waiting_.insert(process_of(stop_.tid));
  }
  if (stop_.kind == StopInfo::VforkDone) vfork_waiting_.erase(process_of(stop_.tid));
  if (stop_.kind == StopInfo::Exec) exec_file_ = exec_file(process_of(stop_.tid));
  s.set_echo(true);
  if (awaiting_stop_) {
    if (auto next = through_counter_code(stop)) return *next;
  }
  if (awaiting_stop_ && range_tid_) {
    // Range stepping: a plain step that stays in the range goes on at once.
    ReplayTask* rt = find_thread(range_tid_);
    RemotePtr<> pc = rt ? rt->task->regs().ip() : RemotePtr<>();
    bool in_range = stop.kind == StopInfo::Step && stop.tid == range_tid_ && pc >= range_start_ && pc < range_end_;
    const TrapSet& traps = breaks_of(range_tid_).traps;
    if (in_range && traps.breaks_at(pc)) {
      // A breakpoint inside the range ends it, as a hit.
      stop_.kind = StopInfo::Hit;
      bool sw = std::find(traps.sw.begin(), traps.sw.end(), pc) != traps.sw.end();
      stop_.hit = TrapHit{sw ? TrapHit::Software : TrapHit::Hardware, pc, WatchKind::Exec};
    } else if (in_range && !conn_.interrupted()) {
      Resume r;
      r.step = true;
      r.step_tid = range_tid_;
      counter_step_ = CounterStep::Forward;
      counter_step_tid_ = range_tid_;
      step_from_ = pc.as_int();
      return r;
    }
    range_tid_ = 0;
  }
  if (awaiting_stop_) {
    awaiting_stop_ = false;
    reply(stop_reply());
  }
  if (stop.quiet && !pending_monitor_.empty() && !lost_) {
    // Back from re-runs a monitor command asked for: answer it now.
    std::string cmd = std::move(pending_monitor_);
    pending_monitor_.clear();
    located_ = true;
    std::string out = monitor(cmd);
    located_ = false;
    if (!out.empty()) reply(std::string("O") + to_hex(out));
    reply("OK");
  }
  while (!lost_) {
    auto p = conn_.read_packet();
    if (!p) break;  // gdb went away
    std::optional<std::variant<Resume, TimelineJump>> next;
    try {
      next = serve(parse_request(*p));
    } catch (const FatalError& e) {
      // A request the tracee could not serve (it vanished, say): an error
      // reply, never a crash.
      reply("E01");
      continue;
    }
    if (!next) continue;
    end_diversion();  // the replay goes on from where it stands, as recorded
    if (auto* j = std::get_if<TimelineJump>(&*next)) return leave(*j);
    if (hold_next_resume_) {
      // gdb's `run` continues by itself once the program "started"; rr's
      // `run EVT` and `restart N` mean to stop there.
      hold_next_resume_ = false;
      reply("T00thread:" + hex_u64(stop_.tid) + ";");
      continue;
    }
    awaiting_stop_ = true;
    return std::get<Resume>(*next);
  }
  return quit();
}

void GdbServer::reply(const std::string& r) {
  if (lost_) return;
  if (!conn_.send(r).ok()) lost_ = true;
}

std::optional<std::variant<Resume, TimelineJump>> GdbServer::serve(const GdbRequest& req) {
  using K = GdbRequest::Kind;
  switch (req.kind) {
    case K::Interrupt:
      return std::nullopt;  // already stopped
    case K::Continue:
    case K::Step:
    case K::Cont:
      if (resumes_diversion()) {
        reply(resume_diversion(req));
        return std::nullopt;
      }
      if (auto end = tell_end()) {
        reply(*end);
        return std::nullopt;
      }
      return resume_forward(req);
    case K::ReverseContinue:
    case K::ReverseStep: {
      awaiting_stop_ = true;
      counter_step_ = req.kind == K::ReverseStep ? CounterStep::Back : CounterStep::None;
      counter_step_tid_ = c_thread_ ? c_thread_ : stop_.tid;
      TimelineJump j;
      j.kind = req.kind == K::ReverseContinue ? TimelineJump::ReverseContinue : TimelineJump::ReverseStep;
      return j;
    }
    case K::Run: {
      auto r = run(req);
      if (auto* j = std::get_if<TimelineJump>(&r)) return *j;
      reply(std::get<std::string>(r));
      return std::nullopt;
    }
    case K::StartNoAck:
      reply("OK");  // still acknowledged; what follows is not
      conn_.set_no_ack();
      return std::nullopt;
    case K::Monitor: {
      std::string out = monitor(req.text);
      if (locate_jump_) {
        TimelineJump j = std::move(*locate_jump_);
        locate_jump_.reset();
        return j;
      }
      if (!out.empty()) reply(std::string("O") + to_hex(out));
      reply("OK");
      return std::nullopt;
    }
    case K::Kill:
      return TimelineJump{};
    case K::Detach:
      reply("OK");
      if (detach(req.pid)) return std::nullopt;
      return TimelineJump{};
    default:
      reply(answer(req));
      return std::nullopt;
  }
}

std::string GdbServer::answer(const GdbRequest& req) {
  using K = GdbRequest::Kind;
  pid_t t = current_thread();
  switch (req.kind) {
    case K::Malformed: return "E01";
    case K::StopReason: return stop_reply();
    case K::ExtendedMode: return "OK";
    case K::ReadRegisters: return t ? read_registers(t) : "E01";
    case K::ReadRegister: return t && req.regno < gdb_regs().size() ? read_register(t, (int)req.regno) : "E01";
    case K::WriteRegister: return write_register(req);
    case K::WriteRegisters: return write_registers(req);
    case K::WriteMemory: return write_memory(req);
    case K::ReadMemory: return read_memory(req.addr, std::min<uint64_t>(req.length, 0x8000));
    case K::SetThread: return set_thread(req);
    case K::ThreadAlive: return find_thread(req.thread.tid) ? "OK" : "E01";
    case K::InsertBreak:
    case K::RemoveBreak: return breakpoint(req);
    case K::Supported:
    {
      auto said = [&](const char* f) { return std::find(req.features.begin(), req.features.end(), f) != req.features.end(); };
      multiprocess_ = said("multiprocess+");
      fork_events_ = multiprocess_ && said("fork-events+");
      vfork_events_ = multiprocess_ && said("vfork-events+");
      return std::string(multiprocess_ ? "multiprocess+;" : "") + (fork_events_ ? "fork-events+;" : "") +
             (vfork_events_ ? "vfork-events+;" : "") +
             "PacketSize=20000;QStartNoAckMode+;qXfer:features:read+;qXfer:auxv:read+;qXfer:exec-file:read+;"
             "qXfer:siginfo:read+;qXfer:siginfo:write+;qXfer:libraries-svr4:read+;exec-events+;"
             "swbreak+;hwbreak+;ReverseContinue+;ReverseStep+;vContSupported+;QPassSignals+;QProgramSignals+";
    }
    case K::Xfer: return xfer(req.object, req.annex, req.addr, req.length);
    case K::XferWrite: return req.object == "siginfo" ? write_siginfo(req) : "";
    case K::FirstThreads: return thread_list();
    case K::NextThreads: return "l";
    case K::CurrentThread: return "QC" + thread_id(t);
    case K::Attached: return "1";
    case K::Symbol: return "OK";
    case K::PassSignals: {
      // Signals gdb would pass on without a stop.
      pass_signals_.clear();
      for (int gdb_sig : req.signals)
        if (int sig = linux_signal(gdb_sig)) pass_signals_.insert(sig);
      return "OK";
    }
    case K::AcceptSignals: return "OK";
    case K::ThreadExtraInfo: return to_hex("recorded tid " + std::to_string(req.thread.tid));
    case K::ContQuery: return "vCont;c;C;s;S;r";
    case K::VKill: return "OK";
    case K::VAttach: return attach(req.pid);
    default: return "";  // Unsupported, Offsets, MustReplyEmpty
  }
}

Resume GdbServer::resume_forward(const GdbRequest& req) {
  range_tid_ = 0;
  Resume r = resume_request(req);
  counter_step_ = r.step ? CounterStep::Forward : CounterStep::None;
  counter_step_tid_ = r.step_tid;
  ReplayTask* rt = r.step ? find_thread(r.step_tid) : nullptr;
  step_from_ = rt ? rt->task->regs().ip().as_int() : 0;
  return r;
}

std::optional<std::variant<Resume, TimelineJump>> GdbServer::through_counter_code(const StopInfo& stop) {
  CounterStep mode = counter_step_;
  counter_step_ = CounterStep::None;
  if (mode == CounterStep::None || stop.kind != StopInfo::Step || stop.tid != counter_step_tid_ || conn_.interrupted())
    return std::nullopt;
  ReplayTask* rt = find_thread(stop.tid);
  if (!rt) return std::nullopt;
  Task& t = *rt->task;
  uint64_t pc = t.regs().ip().as_int();
  auto step_on = [&]() -> std::variant<Resume, TimelineJump> {
    counter_step_ = CounterStep::Forward;
    step_from_ = pc;
    Resume r;
    r.step = true;
    r.step_tid = stop.tid;
    return r;
  };
  auto step_back = [&](CounterStep next) -> std::variant<Resume, TimelineJump> {
    counter_step_ = next;
    TimelineJump j;
    j.kind = TimelineJump::ReverseStep;
    return leave(j);
  };
  switch (mode) {
    case CounterStep::Forward:
      // Into a stub, or from a short branch into its island.
      if (in_counter_stub(t, pc) || island_hop(t, step_from_, pc)) return step_on();
      return std::nullopt;
    case CounterStep::Back:
      if (in_counter_stub(t, pc)) return step_back(CounterStep::Back);
      if (jumps_to_stub(t, pc)) {
        // An island or a counted near jmp of the program's: the step before
        // tells (a short branch aiming here took the island).
        probe_at_ = pc;
        return step_back(CounterStep::BackProbe);
      }
      return std::nullopt;
    case CounterStep::BackProbe:
      if (island_hop(t, pc, probe_at_)) return std::nullopt;  // at the branch that took the island
      // The jump was the program's own instruction: one step forward, to it.
      return step_on();
    case CounterStep::None:
      break;
  }
  return std::nullopt;
}

Resume GdbServer::resume_request(const GdbRequest& req) {
  Resume r;
  Resume* resume = &r;
  pid_t default_tid = c_thread_ ? c_thread_ : stop_.tid;
  if (req.kind == GdbRequest::Kind::Step) {
    resume->step = true;
    resume->step_tid = default_tid;
  }
  // vCont: the first action that steps, with its thread, wins; the others continue.
  for (const GdbResumeAction& a : req.actions) {
    if (a.kind != GdbResumeAction::Step && a.kind != GdbResumeAction::RangeStep) continue;
    pid_t tid = a.has_thread && a.thread.kind == GdbThreadId::One ? a.thread.tid : 0;
    resume->step = true;
    resume->step_tid = tid ? tid : default_tid;
    if (a.kind == GdbResumeAction::RangeStep) {
      range_tid_ = resume->step_tid;
      range_start_ = RemotePtr<>(a.start);
      range_end_ = RemotePtr<>(a.end);
    }
    return r;
  }
  return r;
}

std::string GdbServer::set_thread(const GdbRequest& req) {
  pid_t tid = req.thread.kind == GdbThreadId::One ? req.thread.tid : 0;
  if (!tid && req.thread.pid > 0) {
    // pPID.0 or pPID.-1: a thread of that process (gdb names the process
    // its next breakpoints and memory accesses are for).
    ReplayTask* t = thread_of(req.thread.pid);
    if (!t && req.thread_op == 'g' && debugs(req.thread.pid)) {
      // An inferior gdb holds whose process does not exist here (before
      // its fork): its breakpoints are kept for when it does.
      g_thread_ = 0;
      g_process_ = req.thread.pid;
      return "OK";
    }
    if (!t) return "E01";
    tid = t->recorded().value;
  }
  if (tid && !find_thread(tid)) return "E01";
  (req.thread_op == 'g' ? g_thread_ : c_thread_) = tid ? tid : stop_.tid;
  if (req.thread_op == 'g') g_process_ = process_of(g_thread_);
  return "OK";
}

std::string GdbServer::thread_list() {
  // The threads of every process gdb debugs that exists at this point,
  // leaders first. Only processes gdb heard of from us (the first one,
  // forks, vAttach): gdb would give a process it found here an inferior
  // without reading our target description for it.
  std::string r = "m";
  auto add = [&](pid_t tid) {
    if (r.size() > 1) r += ",";
    r += thread_id(tid);
  };
  for (const auto& [tid, rt] : shown()->tasks())
    if (tid == rt->tgid && find_thread(tid.value)) add(tid.value);
  for (const auto& [tid, rt] : shown()->tasks())
    if (tid != rt->tgid && find_thread(tid.value)) add(tid.value);
  return r.size() > 1 ? r : "l";
}

std::string GdbServer::read_registers(pid_t tid) {
  ReplayTask* rt = find_thread(tid);
  if (!rt) return "E01";
  Registers r = regs_of(*rt);
  std::string xs = xsave_of(*rt);
  std::string out;
  for (const GdbReg& reg : gdb_regs()) out += to_hex(reg_bytes(reg, r.raw(), xs));
  return out;
}

std::string GdbServer::read_register(pid_t tid, int regno) {
  ReplayTask* rt = find_thread(tid);
  const auto& regs = gdb_regs();
  if (!rt || regno < 0 || regno >= (int)regs.size()) return "E01";
  Registers r = regs_of(*rt);
  std::string xs = regs[regno].src == GdbRegSource::Gp ? std::string() : xsave_of(*rt);
  return to_hex(reg_bytes(regs[regno], r.raw(), xs));
}

std::string GdbServer::read_memory(uint64_t addr, uint64_t len) {
  ReplayTask* rt = any_thread();
  if (!rt) return "E01";
  std::string buf(len, '\0');
  if (len == 0) return "";
  if (rt->task->read_mem(RemotePtr(addr), buf.data(), len)) return to_hex(buf);
  // Part of it is unmapped: answer with what can be read from the start.
  size_t got = 0;
  while (got < len) {
    size_t chunk = std::min<uint64_t>(len - got, kPageSize - ((addr + got) % kPageSize));
    if (!rt->task->read_mem(RemotePtr(addr + got), buf.data() + got, chunk)) break;
    got += chunk;
  }
  if (got == 0) return "E01";
  return to_hex(buf.data(), got);
}

bool GdbServer::in_data(RemotePtr<> addr) {
  ReplayTask* rt = any_thread();
  std::vector<MapEntry> maps;
  if (!rt || !try_read_maps(rt->task->tid(), maps)) return false;
  for (const MapEntry& m : maps)
    if (addr >= m.start && addr < m.end) return !(m.prot & PROT_EXEC);
  return false;  // not mapped yet: a library's code, armed once it is there
}

std::string GdbServer::breakpoint(const GdbRequest& req) {
  bool insert = req.kind == GdbRequest::Kind::InsertBreak;
  RemotePtr<> addr(req.addr);
  if (req.addr >= 0x7ffffffff000ull) return "E01";  // not a user-space address
  pid_t process = g_process_ ? g_process_ : process_of(current_thread());
  if (!process) return "E01";
  // In the process gdb named with Hg (each inferior has its own).
  ProcessBreaks& b = breaks_[process];
  if (req.break_kind == GdbBreakKind::Software) {
    // A breakpoint in memory that does not execute (gdb's return address
    // for a call, on the stack) is never armed: an int3 there and the
    // original byte put back after a run would undo the program's own
    // writes to it. Only a diversion meets it, as a fault at its address.
    if (!insert && b.data_breaks.erase(addr)) return "OK";
    if (insert && in_data(addr)) {
      b.data_breaks.insert(addr);
      return "OK";
    }
    auto it = std::find(b.traps.sw.begin(), b.traps.sw.end(), addr);
    if (insert && it == b.traps.sw.end()) b.traps.sw.push_back(addr);
    if (!insert && it != b.traps.sw.end()) b.traps.sw.erase(it);
    return "OK";
  }
  static const std::map<GdbBreakKind, WatchKind> watch_kinds = {
      {GdbBreakKind::Hardware, WatchKind::Exec},
      {GdbBreakKind::WriteWatch, WatchKind::Write},
      {GdbBreakKind::ReadWatch, WatchKind::Read},
      {GdbBreakKind::AccessWatch, WatchKind::Access},
  };
  WatchRequest w;
  w.addr = addr;
  w.kind = watch_kinds.at(req.break_kind);
  w.len = req.break_kind == GdbBreakKind::Hardware ? 1 : req.length;
  if (w.len == 0 || w.len > 32) return "E01";
  auto it = std::find(b.watches.begin(), b.watches.end(), w);
  if (!insert) {
    if (it != b.watches.end()) b.watches.erase(it);
  } else if (it == b.watches.end()) {
    b.watches.push_back(w);
  }
  // Each request becomes aligned pieces; all of them share four debug registers.
  std::vector<HwWatch> hw;
  for (const WatchRequest& r : b.watches)
    for (const HwWatch& piece : aligned_watches(r.addr, r.len, r.kind))
      if (std::find(hw.begin(), hw.end(), piece) == hw.end()) hw.push_back(piece);
  if (hw.size() > 4) {
    b.watches.pop_back();  // only an insert can grow it
    return "E01";
  }
  b.traps.hw = hw;
  return "OK";
}

std::string GdbServer::xfer(const std::string& object, const std::string& annex, uint64_t off, uint64_t len) {
  std::string data;
  if (object == "features" && annex == "target.xml") {
    if (tdesc_.empty()) tdesc_ = target_xml();
    data = tdesc_;
  } else if (object == "auxv") {
    ReplayTask* rt = any_thread();
    if (!rt) return "E01";
    auto a = read_file("/proc/" + std::to_string(rt->task->tid()) + "/auxv");
    if (!a.ok()) return "E01";
    data = a.value();
  } else if (object == "libraries-svr4") {
    ReplayTask* rt = any_thread();
    if (!rt) return "E01";
    if (off == 0 || libraries_.empty()) libraries_ = library_list_svr4(*rt->task);
    data = libraries_;
  } else if (object == "siginfo") {
    return read_siginfo(off, len);
  } else if (object == "exec-file") {
    // The annex names the process (gdb asks for each new inferior's).
    uint64_t pid = 0;
    if (!annex.empty() && !parse_hex_u64(annex, pid)) return "E01";
    data = exec_file((pid_t)pid);
    if (data.empty()) return "E01";
  } else {
    return "";
  }
  if (off >= data.size()) return "l";
  std::string part = data.substr(off, len);
  return (off + part.size() >= data.size() ? "l" : "m") + part;
}

std::string GdbServer::exec_file(pid_t pid) {
  ReplayTask* rt = pid ? thread_of(pid) : any_thread();
  if (!rt) return "";
  char buf[4096];
  ssize_t n = readlink(("/proc/" + std::to_string(rt->task->tid()) + "/exe").c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, n) : std::string();
}

std::variant<std::string, TimelineJump> GdbServer::run(const GdbRequest& req) {
  // vRun;program;arg...: `run EVT` restarts at event EVT, `run cN` (our
  // `restart N`) at gdb checkpoint N, `run` alone at the beginning.
  TimelineJump j;
  j.kind = TimelineJump::Goto;
  j.mark = ReplayTimeline::beginning();
  j.stop.kind = StopInfo::Arrived;
  if (req.args.size() >= 2 && !req.args[1].empty()) {
    const std::string& a = req.args[1];
    char* end = nullptr;
    if (a[0] == 'c') {
      long id = strtol(a.c_str() + 1, &end, 10);
      const Snapshot* found = nullptr;
      for (const Snapshot& s : timeline_->snapshots())
        if (s.id == id && a.size() > 1 && !*end) found = &s;
      if (!found) {
        fprintf(stderr, "rr: no checkpoint %s (see info checkpoints)\n", a.substr(1).c_str());
        return "E01";
      }
      j.mark = found->mark;
    } else {
      auto pos = parse_position(a);
      if (!pos) {
        fprintf(stderr, "rr: run takes an event number or a position EVT:tT+S or EVT:0xADDR:K, not '%s'\n", a.c_str());
        return "E01";
      }
      if (pos->ticks && !timeline_->counter_trace()) {
        fprintf(stderr, "rr: %s names a point by the progress counter's ticks, which this trace does not have "
                "(recorded with --no-progress-counter)\n", a.c_str());
        return "E01";
      }
      j.mark = *pos;
      j.user_position = true;
    }
    hold_next_resume_ = true;
  }
  awaiting_stop_ = true;
  return j;
}

}  // namespace rr
