// rr's own gdb commands (when, checkpoint, restart N, run EVT...): one
// table, one row per command, from which GdbServer's `monitor` dispatcher,
// the `monitor help` text and the gdb start-up script (the gdb commands
// that forward to `monitor`) are all made. A command is added by adding
// its row.
#pragma once

#include <string>
#include <vector>

namespace rr {

class GdbServer;

struct MonitorCommand {
  // How gdb's user reaches the command.
  enum class InGdb {
    Forward,      // a gdb command of the same name sends `monitor NAME ARGS`
    Restart,      // gdb's `restart N` becomes `run cN` (vRun), a gdb checkpoint
    GdbRun,       // gdb's own `run ARG` (vRun)
    SeekTicks,    // a gdb command that becomes `run EVT:tN` at the current event
    MonitorOnly,  // only as `monitor NAME`
  };
  const char* name;  // as typed, words separated by one space ("info checkpoints")
  const char* args;  // what follows the name, for help ("N"); "" when it takes none
  const char* help;  // one line: what it does
  InGdb in_gdb;
  // Serves `monitor NAME ARG` and returns its output; nullptr for the
  // commands gdb sends as vRun.
  std::string (GdbServer::*handler)(const std::string& arg);
};

// The table.
const std::vector<MonitorCommand>& monitor_commands();
// The row `line` (trailing blanks removed) names, with *arg set to what
// follows the name; nullptr for none. A command without arguments matches
// only its name; one with arguments its name alone or followed by a blank.
const MonitorCommand* find_monitor_command(const std::string& line, std::string* arg);
// `monitor help`: one line per row.
std::string monitor_help();
// gdb's start-up script for `rr replay`: a gdb command per Forward row and
// `restart` for the Restart row, each documented by its help line.
std::string gdb_init_script();

}  // namespace rr
