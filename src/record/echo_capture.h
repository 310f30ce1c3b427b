// EchoCapture: the bytes a writer syscall sent to the original stdout or
// stderr, for the trace's Echo record, so that `replay -a` echoes them and
// checks them.
//
// Most writers take their bytes from tracee memory (write, writev, sendmsg):
// the table finds them there at the exit, in recording and in replay alike,
// and the trace keeps only their length and hash. The others (sendfile,
// splice, tee, copy_file_range: the table's WrittenData::FromFd) move bytes
// from another descriptor inside the kernel; the trace must hold the bytes
// themselves, and the recorder captures them without changing what the
// program sees:
//   1. when stdout is a regular file, by reading back what the call appended
//      to it (what stdout received, whatever the source);
//   2. else when the source is a regular file, by reading it at the offset
//      the call read from (the offset argument, or the file position, less
//      the result);
//   3. else when the source is a pipe, by copying what it holds at the
//      call's entry with tee(2), which does not consume it, and lowering the
//      call's length to that (a short transfer, which the program must
//      already handle) so that it cannot move bytes that arrive later. The
//      length register is put back at the exit.
// What none of these reaches (a pipe that is empty at the entry, a socket)
// is marked lost, and both the recorder and `replay -a` say so: never a
// silent gap in the echo.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/syscall_table.h"
#include "core/task.h"

namespace rr {

// The file position of the tracee's descriptor `fd`, or -1.
int64_t tracee_fd_pos(Task& t, uint64_t fd);

class EchoCapture {
 public:
  // At the entry of a FromFd writer whose output is an echo target: takes
  // what method 3 needs, adjusting the task's registers.
  void at_entry(Task& t, const SyscallDesc& desc, const SyscallArgs& call);
  // At the exit stop, before the registers are read for the trace: puts
  // back what at_entry changed.
  void restore_registers(Task& t);
  // At the exit of a FromFd writer that moved `call.ret` bytes to an echo
  // target: those bytes, or nullopt when they could not be captured.
  std::optional<std::string> at_exit(Task& t, const SyscallDesc& desc, const SyscallArgs& call);

 private:
  std::optional<std::string> taken_;  // method 3: the source pipe's head at the entry
  int clamped_arg_ = -1;              // the length argument at_entry lowered, or -1
  uint64_t clamped_from_ = 0;         // its value before
};

}  // namespace rr
