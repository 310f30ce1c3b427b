#include "gdb/monitor_commands.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "gdb/gdb_server.h"

namespace rr {

using InGdb = MonitorCommand::InGdb;

const std::vector<MonitorCommand>& monitor_commands() {
  static const std::vector<MonitorCommand> table = {
      {"when", "", "print the current event", InGdb::Forward, &GdbServer::when},
      {"when-position", "",
       "print the current position: EVT:tT+S (tick T of the progress counter since event EVT, then S steps) or "
       "EVT:0xADDR:K (ADDR has run K times since event EVT)",
       InGdb::Forward, &GdbServer::when_position},
      {"when-ticks", "",
       "print the progress counter's ticks (counted branches) of the current thread since the current event",
       InGdb::Forward, &GdbServer::when_ticks},
      {"checkpoint", "", "save the current point as a gdb checkpoint", InGdb::Forward, &GdbServer::checkpoint},
      {"info checkpoints", "", "list gdb checkpoints in replay order (* marks the current point)", InGdb::Forward,
       &GdbServer::info_checkpoints},
      {"delete checkpoint", "N", "forget gdb checkpoint N", InGdb::Forward, &GdbServer::delete_checkpoint},
      {"write-checkpoints", "", "save the gdb checkpoints into the trace, for later sessions", InGdb::Forward,
       &GdbServer::write_checkpoints},
      {"load-checkpoints", "", "make the trace's checkpoint files gdb checkpoints", InGdb::Forward,
       &GdbServer::load_checkpoints},
      {"restart", "N", "restart at gdb checkpoint N (see info checkpoints)", InGdb::Restart, nullptr},
      {"run", "EVT|EVT:tT+S|EVT:0xADDR:K",
       "restart at event EVT, at tick T since event EVT (then S steps), or where ADDR has run K times since event EVT",
       InGdb::GdbRun, nullptr},
      {"seek-ticks", "N", "go to the progress counter's tick N since the current event (run EVT:tN)", InGdb::SeekTicks,
       nullptr},
      {"help", "", "list rr's commands", InGdb::MonitorOnly, &GdbServer::help},
  };
  return table;
}

const MonitorCommand* find_monitor_command(const std::string& line, std::string* arg) {
  for (const MonitorCommand& c : monitor_commands()) {
    if (!c.handler) continue;
    std::string name = c.name;
    if (line == name) {
      arg->clear();
      return &c;
    }
    if (!*c.args || line.rfind(name, 0) != 0 || !isspace((unsigned char)line[name.size()])) continue;
    *arg = line.substr(name.size());
    while (!arg->empty() && isspace((unsigned char)(*arg)[0])) arg->erase(0, 1);
    return &c;
  }
  return nullptr;
}

std::string monitor_help() {
  std::string lines, gdb_only;
  for (const MonitorCommand& c : monitor_commands()) {
    std::string usage = std::string(c.name) + (*c.args ? std::string(" ") + c.args : std::string());
    usage.resize(std::max<size_t>(usage.size() + 2, 24), ' ');
    lines += "  " + usage + c.help + "\n";
    if (!c.handler) gdb_only += std::string(gdb_only.empty() ? "" : " and ") + c.name;
  }
  return "rr's gdb commands (also `monitor COMMAND`" + (gdb_only.empty() ? "" : ", except " + gdb_only) + "):\n" + lines;
}

namespace {

// `s` as a Python string literal.
std::string py_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string gdb_init_script() {
  std::string forwards, restart_doc, seek_doc;
  for (const MonitorCommand& c : monitor_commands()) {
    if (c.in_gdb == InGdb::Forward) forwards += "    (" + py_string(c.name) + ", " + py_string(c.help) + "),\n";
    if (c.in_gdb == InGdb::Restart) restart_doc = c.help;
    if (c.in_gdb == InGdb::SeekTicks) seek_doc = c.help;
  }
  // Each forwarding command is a class of its own so that gdb's `help
  // NAME` prints its line.
  // Every process of a replay runs when it goes on: gdb is told so
  // (schedule-multiple), else it would resume the other inferiors one by
  // one after a stop in a process it did not resume.
  std::string script = R"GDB(set sysroot /
set schedule-multiple on
python
import gdb

class _RrMonitor(gdb.Command):
    def __init__(self, name, monitor):
        super().__init__(name, gdb.COMMAND_USER)
        self._monitor = monitor
    def invoke(self, arg, from_tty):
        gdb.execute("monitor " + self._monitor + ((" " + arg) if arg else ""), from_tty)

_RR_COMMANDS = [
)GDB" + forwards + R"GDB(]
for _name, _doc in _RR_COMMANDS:
    type("_RrMonitor", (_RrMonitor,), {"__doc__": _doc})(_name, _name)
)GDB";
  // `seek-ticks N` is gdb's `run EVT:tN` at the current event (`monitor
  // when`): gdb's `run` makes it drop what it knew of the threads.
  if (!seek_doc.empty())
    script += R"GDB(
class _RrSeekTicks(gdb.Command):
    )GDB" + py_string(seek_doc) + R"GDB(
    def __init__(self):
        super().__init__("seek-ticks", gdb.COMMAND_RUNNING)
    def invoke(self, arg, from_tty):
        ticks = arg.strip()
        if not ticks.isdigit():
            raise gdb.GdbError("seek-ticks needs a tick count (see when-ticks)")
        when = gdb.execute("monitor when", to_string=True).split()
        if len(when) != 3 or not when[2].isdigit():
            raise gdb.GdbError("seek-ticks: no current event (%s)" % " ".join(when))
        confirm = gdb.parameter("confirm")
        gdb.execute("set confirm off")
        try:
            gdb.execute("run %s:t%s" % (when[2], ticks), from_tty)
        finally:
            gdb.execute("set confirm " + ("on" if confirm else "off"))

_RrSeekTicks()
)GDB";
  if (restart_doc.empty()) return script + "end\n";
  // `restart N` is gdb's `run cN`, which the server turns into checkpoint N.
  return script + R"GDB(
class _RrRestart(gdb.Command):
    )GDB" + py_string(restart_doc) + R"GDB(
    def __init__(self):
        super().__init__("restart", gdb.COMMAND_RUNNING)
    def invoke(self, arg, from_tty):
        if not arg.strip():
            raise gdb.GdbError("restart needs a checkpoint number (see info checkpoints)")
        confirm = gdb.parameter("confirm")
        gdb.execute("set confirm off")
        try:
            gdb.execute("run c" + arg.strip(), from_tty)
        finally:
            gdb.execute("set confirm " + ("on" if confirm else "off"))

_RrRestart()
end
)GDB";
}

// --- the commands -----------------------------------------------------------

namespace {

// A point as `info checkpoints` and `checkpoint` describe it.
std::string describe(const Mark& m) {
  std::string d = "event " + std::to_string(m.event);
  if (m.at_exit) return d + ", at the process's exit";
  if (m.located() || m.tick_located()) return "position " + position_text(m);
  if (m.pieces.empty()) return d;
  size_t steps = 0, runs = 0, counted = 0;
  std::optional<uint32_t> tick;
  for (const Piece& p : m.pieces) {
    if (p.ticks) tick = p.count;
    else if (!p.until.is_null()) ++counted;
    else (p.step ? steps : runs) += p.count;
  }
  d += " + ";
  if (tick) d += "tick " + std::to_string(*tick) + ", ";
  d += std::to_string(runs) + " runs, " + std::to_string(steps) + " steps";
  if (counted) d += ", " + std::to_string(counted) + " counted";
  return d + " (" + std::to_string(m.pieces.size()) + " pieces)";
}

}  // namespace

std::string GdbServer::monitor(const std::string& line) {
  std::string cmd = line;
  while (!cmd.empty() && isspace((unsigned char)cmd.back())) cmd.pop_back();
  std::string arg;
  const MonitorCommand* c = find_monitor_command(cmd.empty() ? "help" : cmd, &arg);
  if (!c) return "rr: unknown monitor command '" + cmd + "' (try: monitor help)\n";
  monitor_line_ = cmd;
  return (this->*c->handler)(arg);
}

bool GdbServer::locate_first(bool needed, bool for_files) {
  bool can = ReplayTimeline::counters_work() || (timeline_->ticks_road() && !for_files);
  if (!needed || located_ || !can || stop_.kind == StopInfo::ProcessExit || stop_.kind == StopInfo::Ended)
    return false;
  pending_monitor_ = monitor_line_;
  TimelineJump j;
  j.kind = TimelineJump::Locate;
  j.for_files = for_files;
  j.stop = stop_;
  j.stop.tid = current_thread();
  locate_jump_ = j;
  return true;
}

std::string GdbServer::when(const std::string&) {
  return "Current event: " + std::to_string(timeline_->here().event) + "\n";
}

std::string GdbServer::when_ticks(const std::string&) {
  if (!timeline_->counter_trace())
    return "rr: no ticks: the trace was recorded without the progress counter (rr record --no-progress-counter)\n";
  std::optional<uint64_t> t = timeline_->ticks_here();
  if (!t) return "rr: the progress counter's ticks are not known here\n";
  return "Current tick: " + std::to_string(*t) + " (counted branches since event " +
         std::to_string(timeline_->here().event) + ")\n";
}

std::string GdbServer::when_position(const std::string&) {
  if (locate_first(!timeline_->all_located())) return "";
  const Mark& m = timeline_->here();
  if (m.located() || (timeline_->ticks_road() && m.tick_located()) || m.at_boundary())
    return "Current position: " + position_text(m) + "\n";
  if (m.at_exit) return "Current position: event " + std::to_string(m.event) + ", at the process's exit\n";
  std::string why = timeline_->no_position_why();
  if (why.empty() && !ReplayTimeline::counters_work()) why = ReplayTimeline::counters_unavailable();
  return "rr: no position here: " + (why.empty() ? std::string("it could not be named") : why) + " (" + describe(m) + ")\n";
}

std::string GdbServer::checkpoint(const std::string&) {
  ReplayTask* rt = find_thread(current_thread());
  std::string note = rt ? "rip 0x" + hex_u64(rt->task->regs().ip().as_int()) : "";
  auto id = timeline_->add_checkpoint(*session_, note);
  if (!id.ok()) return "rr: " + id.error().message + "\n";
  return "Checkpoint " + std::to_string(id.value()) + " at " + describe(timeline_->here()) + ".\n";
}

std::string GdbServer::info_checkpoints(const std::string&) {
  // In replay order, each at its position; `*` marks the current point.
  if (locate_first(!timeline_->all_located() || !timeline_->checkpoints_ordered())) return "";
  std::string out;
  const Mark& here = timeline_->here();
  for (const Snapshot* s : timeline_->checkpoints_in_order()) {
    bool current = s->mark == here && (s->mark.located() || s->mark.tick_located() || s->mark.at_boundary());
    out += std::string(current ? "* " : "") + std::to_string(s->id) + "\t" + describe(s->mark) +
           (s->note.empty() ? "" : "\t" + s->note) + (s->persistent ? "\t(saved)" : "") +
           (s->frozen ? "\t(in memory)" : "") + "\n";
  }
  return out.empty() ? "No checkpoints.\n" : out;
}

std::string GdbServer::delete_checkpoint(const std::string& arg) {
  char* end = nullptr;
  long id = strtol(arg.c_str(), &end, 10);
  if (arg.empty() || *end) return "rr: delete checkpoint needs a checkpoint number\n";
  Status st = timeline_->delete_checkpoint((int)id);
  return st.ok() ? "Deleted checkpoint " + std::to_string(id) + ".\n" : "rr: " + st.error().message + "\n";
}

std::string GdbServer::write_checkpoints(const std::string&) {
  if (locate_first(!timeline_->all_located(true), true)) return "";
  auto n = timeline_->write_checkpoints();
  if (!n.ok()) return "rr: " + n.error().message + "\n";
  return "Wrote " + std::to_string(n.value()) + " checkpoints to the trace.\n";
}

std::string GdbServer::load_checkpoints(const std::string&) {
  auto n = timeline_->load_checkpoints();
  if (!n.ok()) return "rr: " + n.error().message + "\n";
  return "Loaded " + std::to_string(n.value()) + " checkpoints from the trace.\n";
}

std::string GdbServer::help(const std::string&) { return monitor_help(); }

}  // namespace rr
