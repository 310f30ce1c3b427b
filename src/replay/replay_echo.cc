// ReplaySession's echo: `replay -a` prints what the program wrote to the
// original stdout and stderr, found where the syscall table's FdWrite column
// says (tracee memory, or the trace for bytes that came from another fd), and
// checks each write against the length and hash the recording kept: a
// replay that would print other bytes is a divergence, never a quiet
// difference in the output.
#include <xxhash.h>

#include <cstdio>

#include "core/syscall_table.h"
#include "core/task_mem_reader.h"
#include "replay/replay_internal.h"
#include "replay/replay_session.h"
#include "util/io.h"

namespace rr {

namespace {

// A few bytes of `s` for a message, escaped.
std::string excerpt(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < 40; ++i) {
    unsigned char c = s[i];
    if (c == '\n') out += "\\n";
    else if (c < 32 || c >= 127 || c == '"' || c == '\\') {
      char esc[8];
      snprintf(esc, sizeof esc, "\\x%02x", c);
      out += esc;
    } else {
      out += (char)c;
    }
  }
  return "\"" + out + (s.size() > 40 ? "\"..." : "\"");
}

}  // namespace

Status ReplaySession::echo_write(trace::Frame::Reader f, Task& t, trace::SyscallEvent::Reader sc) {
  int fd = sc.getEchoFd();
  const char* stream = fd == 1 ? "stdout" : "stderr";
  Registers regs = t.regs();
  SyscallArgs call = syscall_args(sc.getNumber(), regs);
  call.ret = sc.getResult();
  const SyscallDesc* desc = syscall_desc(call.nr);
  if (desc == nullptr || call.ret <= 0) return {};
  bool checked = sc.hasEcho();  // traces of format 1.1 carry no Echo
  auto echo = sc.getEcho();
  if (checked && echo.getLost()) {
    if (echo_)
      fprintf(stderr, "rr: event %llu: %llu bytes that %s wrote to %s were not recorded; they are missing here\n",
              (unsigned long long)f.getEvent(), (unsigned long long)echo.getLength(), desc->name, stream);
    return {};
  }
  std::string out;
  if (desc->write.data == WrittenData::FromFd) {
    if (!checked) return {};
    out.assign(reinterpret_cast<const char*>(echo.getData().begin()), echo.getData().size());
  } else {
    TaskMemReader mem(t);
    if (!written_bytes(call, mem, out)) {
      if (!checked) return {};
      return divergence(f, std::string("cannot read the bytes ") + desc->name + " wrote to " + stream + " in replay");
    }
  }
  if (checked && (out.size() != echo.getLength() || XXH64(out.data(), out.size(), 0) != echo.getHash())) {
    return divergence(f, std::string(desc->name) + " wrote other bytes to " + stream + " in the recording: " +
                             std::to_string(echo.getLength()) + " bytes of XXH64 " + hex(echo.getHash()) +
                             " there, " + std::to_string(out.size()) + " bytes of XXH64 " +
                             hex(XXH64(out.data(), out.size(), 0)) + " in replay, " + excerpt(out));
  }
  if (!echo_) return {};
  Status st = write_all(fd, out.data(), out.size(), stream);
  (void)st;  // the user closed our output; replay goes on
  return {};
}

}  // namespace rr
