#include "gdb/gdb_server.h"

#include <algorithm>
#include <cstring>
#include <sys/user.h>
#include <unistd.h>

#include "core/address_space.h"
#include "gdb/gdb_target.h"
#include "util/fatal.h"
#include "util/io.h"

namespace rr {

namespace {

std::string stop_signal_hex(int sig) {
  char b[4];
  snprintf(b, sizeof b, "%02x", gdb_signal(sig));
  return b;
}

}  // namespace

ReplayTask* GdbServer::find_thread(pid_t tid) {
  if (!session_) return nullptr;
  auto it = session_->tasks().find(tid);
  if (it == session_->tasks().end() || it->second->tgid != timeline_->debugged()) return nullptr;
  return it->second.get();
}

ReplayTask* GdbServer::any_thread() {
  if (!session_) return nullptr;
  if (ReplayTask* t = find_thread(timeline_->debugged())) return t;
  for (const auto& [tid, rt] : session_->tasks())
    if (rt->tgid == timeline_->debugged()) return rt.get();
  return nullptr;
}

pid_t GdbServer::current_thread() {
  if (find_thread(g_thread_)) return g_thread_;
  if (find_thread(stop_.tid)) return stop_.tid;
  ReplayTask* t = any_thread();
  return t ? t->recorded_tid() : 0;
}

void GdbServer::jump(TimelineJump j) {
  session_ = nullptr;
  range_tid_ = 0;
  throw j;
}

std::string GdbServer::stop_reply() const {
  switch (stop_.kind) {
    case StopInfo::Ended:
      if (stop_.killed_by) return "X" + stop_signal_hex(stop_.killed_by);
      return "W" + stop_signal_hex(stop_.exit_code & 0xff);
    case StopInfo::ProcessExit:
      return "T09thread:" + hex_u64(stop_.tid) + ";";
    case StopInfo::Interrupted:
      return "T02thread:" + hex_u64(stop_.tid) + ";";
    case StopInfo::Signal:
      return "T" + stop_signal_hex(stop_.sig) + "thread:" + hex_u64(stop_.tid) + ";";
    default:
      break;
  }
  std::string r = "T05thread:" + hex_u64(stop_.tid) + ";";
  if (stop_.kind == StopInfo::HistoryBegin) r += "replaylog:begin;";
  if (stop_.kind == StopInfo::Hit) {
    if (stop_.hit.kind == TrapHit::Software) r += "swbreak:;";
    else if (stop_.hit.kind == TrapHit::Hardware) {
      switch (stop_.hit.watch) {
        case WatchKind::Exec: r += "hwbreak:;"; break;
        case WatchKind::Write: r += "watch:" + hex_u64(stop_.hit.addr) + ";"; break;
        case WatchKind::Read: r += "rwatch:" + hex_u64(stop_.hit.addr) + ";"; break;
        case WatchKind::Access: r += "awatch:" + hex_u64(stop_.hit.addr) + ";"; break;
      }
    }
  }
  return r;
}

Resume GdbServer::stopped(ReplaySession& s, const StopInfo& stop) {
  session_ = &s;
  stop_ = stop;
  stop_.quiet = false;
  if (!find_thread(stop_.tid)) {
    ReplayTask* t = any_thread();
    if (t) stop_.tid = t->recorded_tid();
  }
  g_thread_ = c_thread_ = stop_.tid;
  s.set_echo(true);
  if (awaiting_stop_ && range_tid_) {
    // Range stepping: a plain step that stays in the range goes on at once.
    ReplayTask* rt = find_thread(range_tid_);
    uint64_t pc = rt ? rt->task->regs().ip().as_int() : 0;
    bool in_range = stop.kind == StopInfo::Step && stop.tid == range_tid_ && pc >= range_start_ && pc < range_end_;
    if (in_range && traps_.breaks_at(pc)) {
      // A breakpoint inside the range ends it, as a hit.
      stop_.kind = StopInfo::Hit;
      bool sw = std::find(traps_.sw.begin(), traps_.sw.end(), pc) != traps_.sw.end();
      stop_.hit = TrapHit{sw ? TrapHit::Software : TrapHit::Hardware, pc, WatchKind::Exec};
    } else if (in_range && !conn_.interrupted()) {
      Resume r;
      r.step = true;
      r.step_tid = range_tid_;
      return r;
    }
    range_tid_ = 0;
  }
  if (awaiting_stop_) {
    awaiting_stop_ = false;
    if (!conn_.send(stop_reply()).ok()) jump(TimelineJump{});
  }
  if (stop.quiet && !pending_monitor_.empty()) {
    // Back from re-runs a monitor command asked for: answer it now.
    std::string cmd = std::move(pending_monitor_);
    pending_monitor_.clear();
    struct Located {
      bool& flag;
      ~Located() { flag = false; }
    } guard{located_ = true};
    std::string out = monitor(cmd);
    if ((!out.empty() && !conn_.send("O" + to_hex(out)).ok()) || !conn_.send("OK").ok()) jump(TimelineJump{});
  }
  for (;;) {
    auto p = conn_.read_packet();
    if (!p) jump(TimelineJump{});  // gdb went away
    Resume r;
    bool resumed = false;
    try {
      resumed = handle(*p, &r);
    } catch (const FatalError& e) {
      // A request the tracee could not serve (it vanished, say): an error
      // reply, never a crash.
      if (!conn_.send("E01").ok()) jump(TimelineJump{});
      continue;
    }
    if (resumed && hold_next_resume_) {
      // gdb's `run` continues by itself once the program "started"; rr's
      // `run EVT` and `restart N` mean to stop there.
      hold_next_resume_ = false;
      if (!conn_.send("T00thread:" + hex_u64(stop_.tid) + ";").ok()) jump(TimelineJump{});
      continue;
    }
    if (resumed) {
      awaiting_stop_ = true;
      return r;
    }
  }
}

bool GdbServer::handle(const std::string& p, Resume* resume) {
  auto reply = [&](const std::string& r) {
    if (!conn_.send(r).ok()) jump(TimelineJump{});
  };
  if (p.empty()) {
    reply("");
    return false;
  }
  char c = p[0];
  switch (c) {
    case '\x03':
      return false;  // already stopped
    case '?':
      reply(stop_reply());
      return false;
    case '!':
      reply("OK");
      return false;
    case 'g': {
      pid_t t = current_thread();
      reply(t ? read_registers(t) : "E01");
      return false;
    }
    case 'p': {
      uint64_t n;
      pid_t t = current_thread();
      if (!parse_hex_u64(p.substr(1), n) || !t) {
        reply("E01");
        return false;
      }
      reply(read_register(t, (int)n));
      return false;
    }
    case 'P': {
      // Replay cannot change what happened. gdb writes orig_rax itself
      // (to -1, on `run`), and rewrites values unchanged; those are fine.
      size_t eq = p.find('=');
      uint64_t n;
      pid_t t = current_thread();
      if (eq == std::string::npos || !parse_hex_u64(p.substr(1, eq - 1), n) || !t) {
        reply("E01");
        return false;
      }
      const auto& regs = gdb_regs();
      bool same = n < regs.size() && read_register(t, (int)n) == p.substr(eq + 1);
      reply(same || (n < regs.size() && !strcmp(regs[n].name, "orig_rax")) ? "OK" : "E01");
      return false;
    }
    case 'G':
    case 'M':
    case 'X':
      // Replay shows what happened; it cannot be changed.
      reply("E01");
      return false;
    case 'm': {
      size_t comma = p.find(',');
      uint64_t addr, len;
      if (comma == std::string::npos || !parse_hex_u64(p.substr(1, comma - 1), addr) ||
          !parse_hex_u64(p.substr(comma + 1), len)) {
        reply("E01");
        return false;
      }
      reply(read_memory(addr, std::min<uint64_t>(len, 0x8000)));
      return false;
    }
    case 'H': {
      if (p.size() < 3) {
        reply("E01");
        return false;
      }
      std::string id = p.substr(2);
      pid_t tid = 0;
      uint64_t v;
      if (id != "-1" && id != "0" && parse_hex_u64(id, v)) tid = (pid_t)v;
      if (tid && !find_thread(tid)) {
        reply("E01");
        return false;
      }
      (p[1] == 'g' ? g_thread_ : c_thread_) = tid ? tid : stop_.tid;
      reply("OK");
      return false;
    }
    case 'T': {
      uint64_t v;
      reply(parse_hex_u64(p.substr(1), v) && find_thread((pid_t)v) ? "OK" : "E01");
      return false;
    }
    case 'c':
      range_tid_ = 0;
      resume->step = false;
      return true;
    case 's':
      range_tid_ = 0;
      resume->step = true;
      resume->step_tid = c_thread_ ? c_thread_ : stop_.tid;
      return true;
    case 'b':
      if (p == "bc" || p == "bs") {
        awaiting_stop_ = true;
        TimelineJump j;
        j.kind = p == "bc" ? TimelineJump::ReverseContinue : TimelineJump::ReverseStep;
        jump(j);
      }
      reply("");
      return false;
    case 'Z':
    case 'z':
      reply(breakpoint(c == 'Z', p.substr(1)));
      return false;
    case 'q':
    case 'Q':
      if (p == "QStartNoAckMode") {
        reply("OK");  // still acknowledged; what follows is not
        conn_.set_no_ack();
        return false;
      }
      reply(query(p));
      return false;
    case 'v': {
      bool resumed = false;
      std::string r = v_packet(p, resume, &resumed);
      if (resumed) return true;
      reply(r);
      return false;
    }
    case 'k':
      jump(TimelineJump{});
    case 'D':
      reply("OK");
      jump(TimelineJump{});
    default:
      reply("");
      return false;
  }
}

std::string GdbServer::read_registers(pid_t tid) {
  ReplayTask* rt = find_thread(tid);
  if (!rt) return "E01";
  Registers r = rt->task->regs();
  std::string xs = rt->task->xsave();
  std::string out;
  for (const GdbReg& reg : gdb_regs()) out += to_hex(reg_bytes(reg, r.raw(), xs));
  return out;
}

std::string GdbServer::read_register(pid_t tid, int regno) {
  ReplayTask* rt = find_thread(tid);
  const auto& regs = gdb_regs();
  if (!rt || regno < 0 || regno >= (int)regs.size()) return "E01";
  Registers r = rt->task->regs();
  std::string xs = regs[regno].src == GdbRegSource::Gp ? std::string() : rt->task->xsave();
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

std::string GdbServer::breakpoint(bool insert, const std::string& args) {
  // type,addr,kind
  size_t c1 = args.find(','), c2 = args.find(',', c1 == std::string::npos ? 0 : c1 + 1);
  uint64_t addr, kind;
  if (c1 == std::string::npos || c2 == std::string::npos || !parse_hex_u64(args.substr(c1 + 1, c2 - c1 - 1), addr))
    return "E01";
  std::string kind_s = args.substr(c2 + 1);
  kind_s = kind_s.substr(0, kind_s.find(';'));
  if (!parse_hex_u64(kind_s, kind)) return "E01";
  char type = args[0];
  if (addr >= 0x7ffffffff000ull) return "E01";  // not a user-space address
  if (type == '0') {
    auto it = std::find(traps_.sw.begin(), traps_.sw.end(), addr);
    if (insert && it == traps_.sw.end()) traps_.sw.push_back(addr);
    if (!insert && it != traps_.sw.end()) traps_.sw.erase(it);
    return "OK";
  }
  if (type < '1' || type > '4') return "";
  WatchRequest w;
  w.addr = addr;
  w.kind = type == '1' ? WatchKind::Exec : type == '2' ? WatchKind::Write : type == '3' ? WatchKind::Read : WatchKind::Access;
  w.len = type == '1' ? 1 : kind;
  if (w.len == 0 || w.len > 32) return "E01";
  auto it = std::find(watches_.begin(), watches_.end(), w);
  if (!insert) {
    if (it != watches_.end()) watches_.erase(it);
  } else if (it == watches_.end()) {
    watches_.push_back(w);
  }
  // Each request becomes aligned pieces; all of them share four debug registers.
  std::vector<HwWatch> hw;
  for (const WatchRequest& r : watches_)
    for (const HwWatch& piece : aligned_watches(r.addr, r.len, r.kind))
      if (std::find(hw.begin(), hw.end(), piece) == hw.end()) hw.push_back(piece);
  if (hw.size() > 4) {
    watches_.pop_back();  // only an insert can grow it
    return "E01";
  }
  traps_.hw = hw;
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
  } else if (object == "exec-file") {
    ReplayTask* rt = any_thread();
    if (!rt) return "E01";
    char buf[4096];
    ssize_t n = readlink(("/proc/" + std::to_string(rt->task->tid()) + "/exe").c_str(), buf, sizeof buf);
    if (n <= 0) return "E01";
    data.assign(buf, n);
  } else {
    return "";
  }
  if (off >= data.size()) return "l";
  std::string part = data.substr(off, len);
  return (off + part.size() >= data.size() ? "l" : "m") + part;
}

std::string GdbServer::query(const std::string& p) {
  if (p.rfind("qSupported", 0) == 0)
    return "PacketSize=20000;QStartNoAckMode+;qXfer:features:read+;qXfer:auxv:read+;qXfer:exec-file:read+;"
           "swbreak+;hwbreak+;ReverseContinue+;ReverseStep+;vContSupported+;QPassSignals+;QProgramSignals+";
  if (p.rfind("qXfer:", 0) == 0) {
    // qXfer:object:read:annex:offset,length
    std::vector<std::string> f;
    size_t pos = 0;
    for (int i = 0; i < 4; ++i) {
      size_t c = p.find(':', pos);
      if (c == std::string::npos) return "E01";
      f.push_back(p.substr(pos, c - pos));
      pos = c + 1;
    }
    std::string range = p.substr(pos);
    size_t comma = range.find(',');
    uint64_t off, len;
    if (f[2] != "read" || comma == std::string::npos || !parse_hex_u64(range.substr(0, comma), off) ||
        !parse_hex_u64(range.substr(comma + 1), len))
      return "E01";
    return xfer(f[1], f[3], off, len);
  }
  if (p == "qfThreadInfo") {
    std::string r = "m";
    for (const auto& [tid, rt] : session_->tasks()) {
      if (rt->tgid != timeline_->debugged()) continue;
      if (r.size() > 1) r += ",";
      r += hex_u64(tid);
    }
    return r.size() > 1 ? r : "l";
  }
  if (p == "qsThreadInfo") return "l";
  if (p == "qC") return "QC" + hex_u64(current_thread());
  if (p.rfind("qAttached", 0) == 0) return "1";
  if (p == "qOffsets") return "";
  if (p.rfind("qSymbol", 0) == 0) return "OK";
  if (p.rfind("QPassSignals:", 0) == 0) {
    // QPassSignals:SIG;SIG...: signals gdb would pass on without a stop.
    std::set<int> pass;
    size_t pos = 13;
    while (pos < p.size()) {
      size_t semi = p.find(';', pos);
      uint64_t v;
      if (!parse_hex_u64(p.substr(pos, semi == std::string::npos ? std::string::npos : semi - pos), v)) return "E01";
      if (int sig = linux_signal((int)v)) pass.insert(sig);
      pos = semi == std::string::npos ? p.size() : semi + 1;
    }
    pass_signals_ = pass;
    return "OK";
  }
  if (p.rfind("QPassSignals", 0) == 0 || p.rfind("QProgramSignals", 0) == 0) return "OK";
  if (p.rfind("qThreadExtraInfo,", 0) == 0) {
    uint64_t tid;
    if (!parse_hex_u64(p.substr(17), tid)) return "E01";
    return to_hex("recorded tid " + std::to_string(tid));
  }
  if (p.rfind("qRcmd,", 0) == 0) {
    std::string cmd;
    if (!from_hex(p.substr(6), cmd)) return "E01";
    std::string out = monitor(cmd);
    if (!out.empty() && !conn_.send("O" + to_hex(out)).ok()) jump(TimelineJump{});
    return "OK";
  }
  return "";
}

std::string GdbServer::monitor(const std::string& line) {
  std::string cmd = line;
  while (!cmd.empty() && isspace((unsigned char)cmd.back())) cmd.pop_back();
  auto arg_after = [&](const std::string& prefix, std::string& arg) {
    if (cmd.rfind(prefix, 0) != 0) return false;
    arg = cmd.substr(prefix.size());
    while (!arg.empty() && isspace((unsigned char)arg[0])) arg.erase(0, 1);
    return true;
  };
  auto describe = [](const Mark& m) {
    std::string d = "event " + std::to_string(m.event);
    if (m.at_exit) d += ", at the process's exit";
    else if (m.located()) d = "position " + position_text(m);
    else if (!m.pieces.empty()) {
      size_t steps = 0, runs = 0, counted = 0;
      for (const Piece& p : m.pieces) {
        if (p.until) ++counted;
        else (p.step ? steps : runs) += p.count;
      }
      d += " + " + std::to_string(runs) + " runs, " + std::to_string(steps) + " steps";
      if (counted) d += ", " + std::to_string(counted) + " counted";
      d += " (" + std::to_string(m.pieces.size()) + " pieces)";
    }
    return d;
  };
  std::string arg;
  // Commands that need positions (re-runs of stretches) first leave the
  // live replay and come back to the same point (a Locate jump), once.
  auto locate_first = [&](bool needed) {
    if (!needed || located_ || !ReplayTimeline::counters_work() || stop_.kind == StopInfo::ProcessExit ||
        stop_.kind == StopInfo::Ended)
      return;
    pending_monitor_ = cmd;
    TimelineJump j;
    j.kind = TimelineJump::Locate;
    j.stop = stop_;
    j.stop.tid = current_thread();
    jump(j);
  };
  if (cmd == "when") return "Current event: " + std::to_string(timeline_->here().event) + "\n";
  if (cmd == "when-position") {
    locate_first(!timeline_->all_located());
    const Mark& m = timeline_->here();
    if (m.located() || m.at_boundary()) return "Current position: " + position_text(m) + "\n";
    if (m.at_exit) return "Current position: event " + std::to_string(m.event) + ", at the process's exit\n";
    std::string why = ReplayTimeline::counters_work() ? timeline_->no_position_why() : ReplayTimeline::counters_unavailable();
    return "rr: no position here: " + (why.empty() ? std::string("it could not be named") : why) + " (" + describe(m) + ")\n";
  }
  if (cmd == "checkpoint") {
    ReplayTask* rt = find_thread(current_thread());
    std::string note = rt ? "rip 0x" + hex_u64(rt->task->regs().ip().as_int()) : "";
    auto id = timeline_->add_checkpoint(*session_, note);
    if (!id.ok()) return "rr: " + id.error().message + "\n";
    return "Checkpoint " + std::to_string(id.value()) + " at " + describe(timeline_->here()) + ".\n";
  }
  if (cmd == "info checkpoints") {
    // In replay order, each at its position; `*` marks the current point.
    locate_first(!timeline_->all_located() || !timeline_->checkpoints_ordered());
    std::string out;
    const Mark& here = timeline_->here();
    for (const Snapshot* s : timeline_->checkpoints_in_order()) {
      bool current = s->mark == here && (s->mark.located() || s->mark.at_boundary());
      out += std::string(current ? "* " : "") + std::to_string(s->id) + "\t" + describe(s->mark) +
             (s->note.empty() ? "" : "\t" + s->note) + (s->persistent ? "\t(saved)" : "") +
             (s->frozen ? "\t(in memory)" : "") + "\n";
    }
    return out.empty() ? "No checkpoints.\n" : out;
  }
  if (arg_after("delete checkpoint", arg)) {
    char* end = nullptr;
    long id = strtol(arg.c_str(), &end, 10);
    if (arg.empty() || *end) return "rr: delete checkpoint needs a checkpoint number\n";
    Status st = timeline_->delete_checkpoint((int)id);
    return st.ok() ? "Deleted checkpoint " + std::to_string(id) + ".\n" : "rr: " + st.error().message + "\n";
  }
  if (cmd == "write-checkpoints") {
    locate_first(!timeline_->all_located());
    auto n = timeline_->write_checkpoints();
    if (!n.ok()) return "rr: " + n.error().message + "\n";
    return "Wrote " + std::to_string(n.value()) + " checkpoints to the trace.\n";
  }
  if (cmd == "load-checkpoints") {
    auto n = timeline_->load_checkpoints();
    if (!n.ok()) return "rr: " + n.error().message + "\n";
    return "Loaded " + std::to_string(n.value()) + " checkpoints from the trace.\n";
  }
  if (cmd == "help" || cmd.empty())
    return "rr monitor commands: when, when-position, checkpoint, info checkpoints, delete checkpoint N, "
           "write-checkpoints, load-checkpoints; `run EVT` restarts at event EVT, `run EVT:0xADDR:K` where ADDR "
           "has run K times since event EVT, `restart N` at checkpoint N.\n";
  return "rr: unknown monitor command '" + cmd + "' (try: monitor help)\n";
}

std::string GdbServer::v_packet(const std::string& p, Resume* resume, bool* resumed) {
  if (p == "vCont?") return "vCont;c;C;s;S;r";
  if (p.rfind("vCont;", 0) == 0) {
    // Actions, each with an optional thread: the first that names a step wins.
    resume->step = false;
    range_tid_ = 0;
    size_t pos = 6;
    while (pos <= p.size()) {
      size_t semi = p.find(';', pos);
      std::string action = p.substr(pos, semi == std::string::npos ? std::string::npos : semi - pos);
      pos = semi == std::string::npos ? p.size() + 1 : semi + 1;
      if (action.empty()) continue;
      size_t colon = action.find(':');
      pid_t tid = 0;
      uint64_t v;
      if (colon != std::string::npos && parse_hex_u64(action.substr(colon + 1), v)) tid = (pid_t)v;
      char a = action[0];
      if (a == 'r' && !resume->step) {
        // rSTART,END[:thread]
        std::string range = action.substr(1, colon == std::string::npos ? std::string::npos : colon - 1);
        size_t comma = range.find(',');
        uint64_t start, end;
        if (comma == std::string::npos || !parse_hex_u64(range.substr(0, comma), start) ||
            !parse_hex_u64(range.substr(comma + 1), end))
          return "E01";
        resume->step = true;
        resume->step_tid = tid ? tid : (c_thread_ ? c_thread_ : stop_.tid);
        range_tid_ = resume->step_tid;
        range_start_ = start;
        range_end_ = end;
        continue;
      }
      if ((a == 's' || a == 'S') && !resume->step) {
        resume->step = true;
        resume->step_tid = tid ? tid : (c_thread_ ? c_thread_ : stop_.tid);
      }
    }
    *resumed = true;
    return "";
  }
  if (p.rfind("vKill", 0) == 0) return "OK";
  if (p.rfind("vRun", 0) == 0) {
    // vRun;program;arg...: `run EVT` restarts at event EVT, `run cN` (our
    // `restart N`) at gdb checkpoint N, `run` alone at the beginning.
    std::vector<std::string> args;
    size_t pos = p.find(';');
    while (pos != std::string::npos) {
      size_t next = p.find(';', pos + 1);
      std::string raw = p.substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
      std::string decoded;
      if (!from_hex(raw, decoded)) return "E01";
      args.push_back(decoded);
      pos = next;
    }
    TimelineJump j;
    j.kind = TimelineJump::Goto;
    j.mark = ReplayTimeline::beginning();
    j.stop.kind = StopInfo::Arrived;
    if (args.size() >= 2 && !args[1].empty()) {
      const std::string& a = args[1];
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
          fprintf(stderr, "rr: run takes an event number or a position EVT:0xADDR:K, not '%s'\n", a.c_str());
          return "E01";
        }
        j.mark = *pos;
        j.user_position = true;
      }
      hold_next_resume_ = true;
    }
    awaiting_stop_ = true;
    jump(j);
  }
  if (p.rfind("vMustReplyEmpty", 0) == 0) return "";
  return "";
}

}  // namespace rr
