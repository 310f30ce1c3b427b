// GdbServer's writes and calls into the program: they go to a diversion
// (gdb/diversion.h), a copy of the replay made at the first write that
// changes something, and gdb's resumes run that copy while a call gdb set
// up is under way. How a call is told from the user's `continue`: gdb
// reads the thread's siginfo as it begins a call (infcall's saved state),
// then sets the pc, and writes the siginfo back when the call ends; a
// resume in between runs the copy, any other resume or jump ends it and
// the replay goes on from the recorded state.
#include <cstring>

#include "gdb/gdb_server.h"
#include "gdb/gdb_target.h"
#include "util/fatal.h"

namespace rr {

std::string GdbServer::divert() {
  if (diversion_) return "";
  if (!session_) return "no replay";
  auto d = Diversion::start(*session_);
  if (!d.ok()) return d.error().message;
  diversion_ = std::move(d.value());
  replay_stop_ = stop_;
  call_abandoned_ = false;
  return "";
}

void GdbServer::end_diversion() {
  calls_ = 0;
  call_tid_ = 0;
  call_abandoned_ = false;
  if (!diversion_) return;
  diversion_.reset();
  stop_ = replay_stop_;
}

bool GdbServer::resumes_diversion() const { return diversion_ && calls_ > 0 && call_tid_ && !call_abandoned_; }

bool GdbServer::diverted() {
  std::string why = divert();
  if (why.empty()) return true;
  fprintf(stderr, "rr: cannot change the program here: %s\n", why.c_str());
  return false;
}

std::string GdbServer::write_regs(pid_t t, const std::vector<std::pair<const GdbReg*, std::string>>& values) {
  if (!diverted()) return "E01";
  ReplayTask* rt = find_thread(t);
  if (!rt) return "E01";
  Registers r = rt->task->regs();
  std::string xs = rt->task->xsave();
  bool fpu = false;
  for (const auto& [reg, bytes] : values) {
    if (!set_reg_bytes(*reg, bytes, r.raw(), xs)) return "E01";
    fpu |= reg->src != GdbRegSource::Gp;
    // gdb sets the pc last as it sets up a call.
    if (!strcmp(reg->name, "rip") && calls_ > 0) call_tid_ = t;
  }
  rt->task->set_regs(r);
  if (fpu && !rt->task->try_set_xsave(xs)) return "E01";
  return "OK";
}

std::string GdbServer::write_register(const GdbRequest& req) {
  pid_t t = current_thread();
  const auto& regs = gdb_regs();
  if (!t || req.regno >= regs.size()) return "E01";
  const GdbReg& reg = regs[req.regno];
  // gdb rewrites values unchanged, and writes orig_rax itself (to -1, on
  // `run`): no copy for those.
  if (!diversion_ && (read_register(t, (int)req.regno) == req.data || !strcmp(reg.name, "orig_rax"))) return "OK";
  std::string bytes;
  if (!from_hex(req.data, bytes)) return "E01";
  return write_regs(t, {{&reg, bytes}});
}

std::string GdbServer::write_registers(const GdbRequest& req) {
  pid_t t = current_thread();
  if (!t) return "E01";
  if (!diversion_ && to_hex(req.data) == read_registers(t)) return "OK";
  std::vector<std::pair<const GdbReg*, std::string>> values;
  size_t at = 0;
  for (const GdbReg& reg : gdb_regs()) {
    size_t n = reg.bits / 8;
    if (at + n > req.data.size()) break;  // gdb may send fewer than all
    values.push_back({&reg, req.data.substr(at, n)});
    at += n;
  }
  return write_regs(t, values);
}

std::string GdbServer::write_memory(const GdbRequest& req) {
  if (req.data.empty()) return "OK";  // gdb probes X with an empty write
  ReplayTask* rt = any_thread();
  if (!rt) return "E01";
  std::string now(req.data.size(), '\0');
  if (!diversion_ && rt->task->read_mem(RemotePtr<>(req.addr), now.data(), now.size()) && now == req.data) return "OK";
  if (!diverted()) return "E01";
  rt = any_thread();
  if (!rt || !rt->task->try_write_mem(RemotePtr<>(req.addr), req.data.data(), req.data.size())) return "E01";
  return "OK";
}

std::string GdbServer::read_siginfo(uint64_t off, uint64_t len) {
  ReplayTask* rt = find_thread(current_thread());
  if (!rt) return "E01";
  // The stop's siginfo, as gdb shows it in $_siginfo (none at a group stop).
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (auto got = rt->task->try_siginfo()) si = *got;
  if (off == 0) {
    ++calls_;  // a call begins (or the user prints $_siginfo: no pc is set then)
    call_abandoned_ = false;
  }
  std::string data(reinterpret_cast<const char*>(&si), sizeof si);
  if (off >= data.size()) return "l";
  std::string part = data.substr(off, len);
  return (off + part.size() >= data.size() ? "l" : "m") + part;
}

std::string GdbServer::write_siginfo(const GdbRequest& req) {
  // Written back as a call ends. The copy's own siginfo is of no use to it
  // (nothing is delivered in a diversion): only the count changes.
  if (calls_ > 0 && --calls_ == 0) call_tid_ = 0;
  return hex_u64(req.data.size());
}

std::string GdbServer::resume_diversion(const GdbRequest& req) {
  Resume r = resume_forward(req);
  pid_t tid = r.step ? r.step_tid : call_tid_;
  for (const GdbResumeAction& a : req.actions)
    if (!r.step && a.has_thread && a.thread.kind == GdbThreadId::One && find_thread(a.thread.tid)) tid = a.thread.tid;
  if (!find_thread(tid)) tid = call_tid_;
  Diversion::Stop stop;
  for (;;) {
    auto ran = diversion_->run(RecordedTid{tid}, r.step, breaks_of(tid).traps, [this] { return conn_.interrupted(); });
    if (!ran.ok()) {
      fprintf(stderr, "rr: the call cannot go on: %s\n", ran.error().message.c_str());
      call_abandoned_ = true;
      stop_.kind = StopInfo::Signal;
      stop_.sig = SIGKILL;
      stop_.tid = tid;
      return stop_reply();
    }
    stop = ran.value();
    // vCont;r: steps on while the pc stays in the range, unless a
    // breakpoint is there.
    if (stop.kind != Diversion::Stop::Trap || stop.hit.kind != TrapHit::Step || range_tid_ != tid) break;
    RemotePtr<> pc = find_thread(tid)->task->regs().ip();
    if (pc < range_start_ || pc >= range_end_ || breaks_of(tid).traps.breaks_at(pc) || conn_.interrupted()) break;
  }
  range_tid_ = 0;
  stop_ = StopInfo{};
  stop_.tid = tid;
  switch (stop.kind) {
    case Diversion::Stop::Trap:
      stop_.kind = stop.hit.kind == TrapHit::Step ? StopInfo::Step : StopInfo::Hit;
      stop_.hit = stop.hit;
      break;
    case Diversion::Stop::Interrupted:
      stop_.kind = StopInfo::Interrupted;
      call_abandoned_ = true;
      break;
    case Diversion::Stop::Signal:
      if (stop.sig == SIGSEGV && breaks_of(tid).data_breaks.count(find_thread(tid)->task->regs().ip())) {
        // gdb's return address for a call is a breakpoint on the stack,
        // which does not execute: the call is over.
        stop_.kind = StopInfo::Hit;
        stop_.hit = TrapHit{TrapHit::Software, find_thread(tid)->task->regs().ip(), WatchKind::Exec};
        break;
      }
      [[fallthrough]];
    case Diversion::Stop::Gone:
      // gdb reports the signal and leaves the call's frame to the user; a
      // resume from there goes back to the replay, which delivering the
      // signal in the copy would end.
      stop_.kind = StopInfo::Signal;
      stop_.sig = stop.sig ? stop.sig : SIGKILL;
      call_abandoned_ = true;
      break;
  }
  return stop_reply();
}

}  // namespace rr
