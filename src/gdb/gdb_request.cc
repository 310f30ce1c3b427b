#include "gdb/gdb_request.h"

#include <climits>
#include <cstring>
#include <functional>
#include <map>

#include "gdb/gdb_connection.h"

namespace rr {

namespace {

using Kind = GdbRequest::Kind;

GdbRequest simple(Kind kind) {
  GdbRequest r;
  r.kind = kind;
  return r;
}

GdbRequest malformed(const std::string& why) {
  GdbRequest r;
  r.kind = Kind::Malformed;
  r.error = why;
  return r;
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// "A,B" as two hex numbers.
bool parse_hex_pair(const std::string& s, uint64_t& a, uint64_t& b) {
  size_t comma = s.find(',');
  return comma != std::string::npos && parse_hex_u64(s.substr(0, comma), a) && parse_hex_u64(s.substr(comma + 1), b);
}

// A recorded tid in hex (0 included); it must fit a pid.
bool parse_tid(const std::string& s, pid_t& tid) {
  uint64_t v;
  if (!parse_hex_u64(s, v) || v > (uint64_t)INT_MAX) return false;
  tid = (pid_t)v;
  return true;
}

// The fields of `s` between `sep`s (an empty string has one empty field).
std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (;;) {
    size_t next = s.find(sep, pos);
    out.push_back(s.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
    if (next == std::string::npos) return out;
    pos = next + 1;
  }
}

// A thread without the process part: "-1", "0" or a tid.
bool parse_bare_thread(const std::string& s, GdbThreadId& out) {
  if (s == "-1") {
    out = GdbThreadId{GdbThreadId::All, 0};
    return true;
  }
  pid_t tid;
  if (!parse_tid(s, tid)) return false;
  out = tid ? GdbThreadId{GdbThreadId::One, tid} : GdbThreadId{GdbThreadId::Any, 0};
  return true;
}

// "pPID.TID", "pPID" (all its threads), or a thread without a process;
// PID 0 is any process (gdb's "Hgp0.0" before it knows one).
bool parse_thread(const std::string& s, GdbThreadId& out) {
  if (s.empty() || s[0] != 'p') return parse_bare_thread(s, out);
  size_t dot = s.find('.');
  std::string pid_text = s.substr(1, dot == std::string::npos ? std::string::npos : dot - 1);
  if (!parse_bare_thread(dot == std::string::npos ? "-1" : s.substr(dot + 1), out)) return false;
  GdbThreadId process;
  if (!parse_bare_thread(pid_text, process)) return false;
  out.pid = process.kind == GdbThreadId::All ? -1 : process.tid;  // p0: any process
  return true;
}

// D and vKill: an optional ";PID" in hex.
GdbRequest with_pid(Kind kind, const std::string& rest) {
  GdbRequest r = simple(kind);
  if (rest.empty()) return r;
  if (rest[0] != ';' || !parse_tid(rest.substr(1), r.pid)) return malformed("a process id after ';' in hex");
  return r;
}

// qSupported[:feature;feature...]
GdbRequest supported(const std::string& p) {
  GdbRequest r = simple(Kind::Supported);
  size_t colon = p.find(':');
  if (colon != std::string::npos)
    for (const std::string& f : split(p.substr(colon + 1), ';'))
      if (!f.empty()) r.features.push_back(f);
  return r;
}

// p regno
GdbRequest read_register(const std::string& p) {
  GdbRequest r = simple(Kind::ReadRegister);
  if (!parse_hex_u64(p.substr(1), r.regno)) return malformed("p needs a register number in hex");
  return r;
}

// P regno=value
GdbRequest write_register(const std::string& p) {
  GdbRequest r = simple(Kind::WriteRegister);
  size_t eq = p.find('=');
  std::string bytes;
  if (eq == std::string::npos || !parse_hex_u64(p.substr(1, eq - 1), r.regno) || eq + 1 == p.size() ||
      !from_hex(p.substr(eq + 1), bytes))
    return malformed("P needs regno=value in hex");
  r.data = p.substr(eq + 1);
  return r;
}

// m addr,len
GdbRequest read_memory(const std::string& p) {
  GdbRequest r = simple(Kind::ReadMemory);
  if (!parse_hex_pair(p.substr(1), r.addr, r.length)) return malformed("m needs addr,length in hex");
  return r;
}

// M addr,len:hex and X addr,len:binary
GdbRequest write_memory(const std::string& p) {
  GdbRequest r = simple(Kind::WriteMemory);
  size_t colon = p.find(':');
  if (colon == std::string::npos || !parse_hex_pair(p.substr(1, colon - 1), r.addr, r.length))
    return malformed(std::string(1, p[0]) + " needs addr,length:data");
  std::string data = p.substr(colon + 1);
  if (p[0] == 'M' && !from_hex(data, r.data)) return malformed("M's data is not hex");
  if (p[0] == 'X') r.data = data;
  if (r.data.size() != r.length) return malformed("the data's length is not the one given");
  return r;
}

// H op thread
GdbRequest set_thread(const std::string& p) {
  GdbRequest r = simple(Kind::SetThread);
  if (p.size() < 3 || (p[1] != 'g' && p[1] != 'c') || !parse_thread(p.substr(2), r.thread))
    return malformed("H needs g or c and a thread");
  r.thread_op = p[1];
  return r;
}

// Z/z type,addr,kind[;cond...]
GdbRequest breakpoint(const std::string& p) {
  GdbRequest r = simple(p[0] == 'Z' ? Kind::InsertBreak : Kind::RemoveBreak);
  std::vector<std::string> f = split(p.substr(1, p.find(';') == std::string::npos ? std::string::npos : p.find(';') - 1), ',');
  if (f.size() != 3 || !parse_hex_u64(f[1], r.addr) || !parse_hex_u64(f[2], r.length))
    return malformed(std::string(1, p[0]) + " needs type,addr,kind in hex");
  if (f[0].size() != 1 || f[0][0] < '0' || f[0][0] > '4') return simple(Kind::Unsupported);
  r.break_kind = (GdbBreakKind)(f[0][0] - '0');
  return r;
}

// qXfer:object:read:annex:offset,length and
// qXfer:object:write:annex:offset:data (the data is binary: it may hold ':').
GdbRequest xfer(const std::string& p) {
  std::vector<std::string> f = split(p, ':');
  if (f.size() >= 6 && f[2] == "write") {
    GdbRequest r = simple(Kind::XferWrite);
    size_t data_at = f[0].size() + f[1].size() + f[2].size() + f[3].size() + f[4].size() + 5;
    if (!parse_hex_u64(f[4], r.addr)) return malformed("qXfer write needs object:write:annex:offset:data");
    r.object = f[1];
    r.annex = f[3];
    r.data = p.substr(data_at);
    return r;
  }
  GdbRequest r = simple(Kind::Xfer);
  if (f.size() != 5 || f[2] != "read" || !parse_hex_pair(f[4], r.addr, r.length))
    return malformed("qXfer needs object:read:annex:offset,length");
  r.object = f[1];
  r.annex = f[3];
  return r;
}

// QPassSignals:sig;sig...
GdbRequest pass_signals(const std::string& p) {
  GdbRequest r = simple(Kind::PassSignals);
  std::string list = p.substr(strlen("QPassSignals:"));
  if (!list.empty() && list.back() == ';') list.pop_back();  // gdb ends the list with one
  if (list.empty()) return r;
  for (const std::string& s : split(list, ';')) {
    uint64_t v;
    if (!parse_hex_u64(s, v) || v > 0xff) return malformed("QPassSignals needs signal numbers in hex");
    r.signals.push_back((int)v);
  }
  return r;
}

GdbRequest thread_extra_info(const std::string& p) {
  GdbRequest r = simple(Kind::ThreadExtraInfo);
  if (!parse_thread(p.substr(strlen("qThreadExtraInfo,")), r.thread) || r.thread.kind != GdbThreadId::One)
    return malformed("qThreadExtraInfo needs a thread");
  return r;
}

GdbRequest monitor(const std::string& p) {
  GdbRequest r = simple(Kind::Monitor);
  if (!from_hex(p.substr(strlen("qRcmd,")), r.text)) return malformed("qRcmd's command is not hex");
  return r;
}

GdbRequest query(const std::string& p) {
  // Exact names first, then prefixes (which may take arguments).
  static const std::map<std::string, Kind> exact = {
      {"QStartNoAckMode", Kind::StartNoAck}, {"qfThreadInfo", Kind::FirstThreads}, {"qsThreadInfo", Kind::NextThreads},
      {"qC", Kind::CurrentThread},           {"qOffsets", Kind::Offsets},
  };
  if (auto it = exact.find(p); it != exact.end()) return simple(it->second);
  static const std::vector<std::pair<const char*, std::function<GdbRequest(const std::string&)>>> prefixed = {
      {"qSupported", supported},
      {"qXfer:", xfer},
      {"qAttached", [](const std::string&) { return simple(Kind::Attached); }},

      {"qSymbol", [](const std::string&) { return simple(Kind::Symbol); }},
      {"QPassSignals:", pass_signals},
      {"QPassSignals", [](const std::string&) { return simple(Kind::AcceptSignals); }},
      {"QProgramSignals", [](const std::string&) { return simple(Kind::AcceptSignals); }},
      {"qThreadExtraInfo,", thread_extra_info},
      {"qRcmd,", monitor},
  };
  for (const auto& [prefix, parse] : prefixed)
    if (starts_with(p, prefix)) return parse(p);
  return simple(Kind::Unsupported);
}

// One vCont action: c, Csig, s, Ssig, rstart,end, t; then :thread or nothing.
bool parse_action(const std::string& text, GdbResumeAction& a) {
  size_t colon = text.find(':');
  std::string arg = text.substr(1, colon == std::string::npos ? std::string::npos : colon - 1);
  if (colon != std::string::npos) {
    a.has_thread = true;
    if (!parse_thread(text.substr(colon + 1), a.thread)) return false;
  }
  uint64_t sig = 0;
  switch (text[0]) {
    case 'c':
    case 's':
    case 't':
      a.kind = text[0] == 'c' ? GdbResumeAction::Continue : text[0] == 's' ? GdbResumeAction::Step : GdbResumeAction::Stop;
      return arg.empty();
    case 'C':
    case 'S':
      a.kind = text[0] == 'C' ? GdbResumeAction::Continue : GdbResumeAction::Step;
      if (!parse_hex_u64(arg, sig) || sig > 0xff) return false;
      a.signal = (int)sig;
      return true;
    case 'r':
      a.kind = GdbResumeAction::RangeStep;
      return parse_hex_pair(arg, a.start, a.end);
    default:
      return false;
  }
}

GdbRequest cont(const std::string& p) {
  GdbRequest r = simple(Kind::Cont);
  for (const std::string& text : split(p.substr(strlen("vCont;")), ';')) {
    if (text.empty()) continue;
    GdbResumeAction a;
    if (!parse_action(text, a)) return malformed("vCont: bad action '" + text + "'");
    r.actions.push_back(a);
  }
  return r;
}

// vRun;program;arg...: every field hex.
GdbRequest run(const std::string& p) {
  GdbRequest r = simple(Kind::Run);
  size_t semi = p.find(';');
  if (semi == std::string::npos) return r;
  for (const std::string& hex : split(p.substr(semi + 1), ';')) {
    std::string decoded;
    if (!from_hex(hex, decoded)) return malformed("vRun's arguments are not hex");
    r.args.push_back(decoded);
  }
  return r;
}

GdbRequest v_packet(const std::string& p) {
  if (p == "vCont?") return simple(Kind::ContQuery);
  if (starts_with(p, "vCont;")) return cont(p);
  if (starts_with(p, "vKill")) return with_pid(Kind::VKill, p.substr(strlen("vKill")));
  if (starts_with(p, "vAttach")) {
    GdbRequest r = with_pid(Kind::VAttach, p.substr(strlen("vAttach")));
    if (r.kind == Kind::VAttach && !r.pid) return malformed("vAttach needs ;pid");
    return r;
  }
  if (starts_with(p, "vRun")) return run(p);
  if (starts_with(p, "vMustReplyEmpty")) return simple(Kind::MustReplyEmpty);
  return simple(Kind::Unsupported);
}

}  // namespace

GdbRequest parse_request(const std::string& p) {
  if (p.empty()) return simple(Kind::Unsupported);
  switch (p[0]) {
    case '\x03': return simple(Kind::Interrupt);
    case '?': return simple(Kind::StopReason);
    case '!': return simple(Kind::ExtendedMode);
    case 'g': return simple(Kind::ReadRegisters);
    case 'G': {
      GdbRequest r = simple(Kind::WriteRegisters);
      if (!from_hex(p.substr(1), r.data)) return malformed("G's registers are not hex");
      return r;
    }
    case 'p': return read_register(p);
    case 'P': return write_register(p);
    case 'm': return read_memory(p);
    case 'M':
    case 'X': return write_memory(p);
    case 'H': return set_thread(p);
    case 'T': {
      GdbRequest r = simple(Kind::ThreadAlive);
      if (!parse_thread(p.substr(1), r.thread) || r.thread.kind != GdbThreadId::One) return malformed("T needs a thread");
      return r;
    }
    case 'c': return simple(Kind::Continue);
    case 's': return simple(Kind::Step);
    case 'b':
      if (p == "bc") return simple(Kind::ReverseContinue);
      if (p == "bs") return simple(Kind::ReverseStep);
      return simple(Kind::Unsupported);
    case 'Z':
    case 'z': return breakpoint(p);
    case 'q':
    case 'Q': return query(p);
    case 'v': return v_packet(p);
    case 'k': return simple(Kind::Kill);
    case 'D': return with_pid(Kind::Detach, p.substr(1));
    default: return simple(Kind::Unsupported);
  }
}

}  // namespace rr
