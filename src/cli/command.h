// The subcommands of rr: each lives in its own file; main.cc's command
// table names them with their usage lines and dispatches to them.
#pragma once

#include <string>
#include <vector>

namespace rr {

using Args = std::vector<std::string>;

struct Command {
  const char* name;
  const char* usage;    // one line: "rr record [-o DIR] PROG [ARGS...]"
  const char* summary;  // one sentence for `rr help`
  int (*run)(const Args& args);  // args after the command name; returns the exit status
};

const std::vector<Command>& command_table();

// Prints "rr: <message>" on stderr and returns 1: the shape of every
// user-facing error.
int fail(const std::string& message);
// For an argument none of `command`'s options took: an unknown option, the
// TRACE argument, or a second TRACE. Returns 0 when `arg` became `trace`,
// else the failure status (the error is printed).
int take_trace_arg(const char* command, const std::string& arg, std::string& trace);
// Parses a non-negative event number; false if `s` is not one.
bool parse_event(const std::string& s, unsigned long long& out);

int cmd_record(const Args& args);
int cmd_replay(const Args& args);
int cmd_dump(const Args& args);
int cmd_ps(const Args& args);
int cmd_ls(const Args& args);
int cmd_state(const Args& args);
int cmd_create_checkpoints(const Args& args);
int cmd_checkpoints(const Args& args);

}  // namespace rr
