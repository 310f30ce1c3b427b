// RecordSession, the syscall buffer's recorder side (docs/syscall-buffer.md):
// the preloaded library it writes out, the seccomp filter that lets the
// library's calls through, the buffer it maps into every new image, and
// the records it takes out of it for the next frame.
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "core/buffered_records.h"
#include "core/remote_syscalls.h"
#include "core/rr_page.h"
#include "core/syscall_table.h"
#include "preload/syscall_buffer.h"
#include "record/record_session.h"
#include "util/fatal.h"
#include "util/io.h"
#include "util/scoped_fd.h"

// librrpreload.so, built with rr and kept inside it (preload_blob.S).
extern "C" const char rr_preload_blob_start[];
extern "C" const char rr_preload_blob_end[];

namespace rr {

int install_syscall_buffer_filter() {
  constexpr uint32_t kIpLow = offsetof(struct seccomp_data, instruction_pointer);
  constexpr uint32_t kIpHigh = kIpLow + 4;
  constexpr uint64_t kBuffered = RR_BUFFERED_ENTRY_AFTER_SYSCALL;
  constexpr uint64_t kInjected = kRrSyscallInsn + 2;
  static_assert(kBuffered >> 32 == 0 && kInjected >> 32 == 0);
  // Calls from the buffer's entry and from the recorder's own injected
  // syscall instruction run untraced; every other one stops the tracee.
  struct sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIpHigh),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 4),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIpLow),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)kBuffered, 1, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)kInjected, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | kBufferFilterData),
  };
  struct sock_fprog prog = {(unsigned short)(sizeof(code) / sizeof(code[0])), code};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) return errno;
  return 0;
}

Status RecordSession::write_preload_library(std::string* path) {
  // Absolute: a program that changes its directory still finds it.
  char dir[PATH_MAX];
  if (!realpath(writer_->dir().c_str(), dir)) return make_error("cannot resolve " + writer_->dir() + ": " + errno_text());
  *path = std::string(dir) + "/librrpreload.so";
  // LD_PRELOAD separates names with spaces and colons: such a trace
  // directory is recorded without the buffer, as it was before it.
  if (path->find_first_of(" :") != std::string::npos) {
    RR_LOG("no syscall buffer: LD_PRELOAD cannot name %s", path->c_str());
    path->clear();
    return {};
  }
  ScopedFd fd(open(path->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755));
  if (!fd.is_open()) return make_error("cannot write " + *path + ": " + errno_text());
  size_t len = (size_t)(rr_preload_blob_end - rr_preload_blob_start);
  return write_all(fd.get(), rr_preload_blob_start, len, *path);
}

// At an exec, before the image is captured: replay rebuilds the buffer with
// the rest of the image.
void RecordSession::map_syscall_buffer(RecordTask& rt) {
  if (!syscall_buffer_) return;
  Task& t = *rt.task;
  t.write_mem(RemotePtr<>(RR_BUFFERED_ENTRY), kRrBufferedEntryRecord, sizeof(kRrBufferedEntryRecord));
  RemoteSyscalls rs(t);
  rs.checked("mapping the syscall buffer", SYS_mmap,
             {RR_BUFFER_ADDR, RR_BUFFER_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
              (uint64_t)-1, 0});
  rr_buffer_header h = {RR_BUFFER_MAGIC, rt.unbuffered ? 1u : 0u, 0, (uint32_t)RR_BUFFER_DATA_SIZE};
  t.write_mem(RemotePtr<>(RR_BUFFER_ADDR), &h, sizeof h);
  // RR_NO_LIBC_PATCH=1 leaves libc as it is: to measure what the rewriting
  // brings, or to rule it out when a recording goes wrong.
  const char* no_patch = getenv("RR_NO_LIBC_PATCH");
  uint32_t options = no_patch && strcmp(no_patch, "1") == 0 ? 0 : RR_OPTION_PATCH_LIBC;
  t.write_mem(RemotePtr<>(RR_OPTIONS_ADDR), &options, sizeof options);
  rt.held.insert(rt.held.end(), rs.stashed_signals().begin(), rs.stashed_signals().end());
}

// From now on every call of `rt` reaches the recorder (RecordTask::unbuffered):
// a program's seccomp filter would judge the buffer's calls too, and one it
// refuses or traps would leave replay with a call the trace lacks; a tracer
// inside the recording must see every call. The lock is in the buffer, so
// every thread of the address space goes the traced way, and it stays. The
// records made before belong to the frame being written.
void RecordSession::stop_buffering(RecordTask& rt) {
  if (!syscall_buffer_ || rt.unbuffered) return;
  rt.unbuffered = true;
  Task& t = *rt.task;
  uint32_t magic = 0;
  if (!t.alive() || !t.read_mem(RemotePtr<>(RR_BUFFER_ADDR), &magic, sizeof magic) || magic != RR_BUFFER_MAGIC) return;
  uint32_t locked = 1;
  t.write_mem(RemotePtr<>(RR_BUFFER_ADDR + offsetof(rr_buffer_header, locked)), &locked, sizeof locked);
}

// Moves the records the task's process made since the last time into the
// task's next frame, and empties the buffer. Every record must be a call
// replay emulates from the record alone; the opens and closes among them
// change the task's fd table here as replay's at the frame's stop.
Status RecordSession::take_buffered_records(RecordTask& rt) {
  if (!syscall_buffer_) return {};
  Task& t = *rt.task;
  rr_buffer_header h;
  if (!t.alive() || !t.read_mem(RemotePtr<>(RR_BUFFER_ADDR), &h, sizeof h) || h.magic != RR_BUFFER_MAGIC || h.used == 0)
    return {};
  if (h.used > RR_BUFFER_DATA_SIZE)
    return make_error(ErrorKind::Internal, "the syscall buffer of task " + std::to_string(t.tid()) + " says it holds " +
                                               std::to_string(h.used) + " bytes");
  // Read straight onto the end of what the frame will hold: the string keeps
  // its capacity from event to event, so a full buffer costs one copy and no
  // fresh pages.
  std::string& kept = rt.buffered_records;
  size_t start = kept.size();
  kept.resize(start + h.used);
  t.read_exact(RemotePtr<>(RR_BUFFER_ADDR + sizeof h), kept.data() + start, h.used);
  auto records = parse_buffered_records(std::string_view(kept).substr(start));
  if (!records.ok()) {
    kept.resize(start);
    return records.take_error();
  }
  apply_buffered_fd_changes(rt.fds, records.value());
  uint32_t empty = 0;
  t.write_mem(RemotePtr<>(RR_BUFFER_ADDR + offsetof(rr_buffer_header, used)), &empty, sizeof empty);
  return {};
}

// Regular files and directories only: they never block (the buffer has no
// way yet to let other threads run while a buffered call waits). Writes also stay traced
// for files in /proc and /sys (/proc/PID/mem, clear_refs: effects on the
// tracees), for the original stdout and stderr (echoed in replay) and for
// files the program maps (their changes are recorded, record_files.cc).
std::pair<bool, bool> RecordSession::fd_gate_for(RecordTask& rt, int fd, FdTable::Kind kind) const {
  if (kind != FdTable::Kind::Other && kind != FdTable::Kind::Stdin) return {false, false};
  std::string path = "/proc/" + std::to_string(rt.tid()) + "/fd/" + std::to_string(fd);
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return {false, false};
  // A directory never blocks either: getdents64 reads it (read fails at once).
  if (S_ISDIR(st.st_mode)) return {true, false};
  if (!S_ISREG(st.st_mode)) return {false, false};
  struct statfs fs;
  if (statfs(path.c_str(), &fs) != 0) return {false, false};
  bool special_fs = fs.f_type == PROC_SUPER_MAGIC || fs.f_type == SYSFS_MAGIC;
  std::pair<uint64_t, uint64_t> key{(uint64_t)st.st_dev, (uint64_t)st.st_ino};
  bool mapped = emulated_.count(key) || plain_mapped_.count(key);
  return {true, kind == FdTable::Kind::Other && !special_fs && !mapped};
}

void RecordSession::refresh_fd_gate(RecordTask& rt) {
  if (!syscall_buffer_) return;
  Task& t = *rt.task;
  uint64_t want[2] = {rt.fds->version(), mapped_files_epoch_};
  uint64_t have[2];
  // An image without the buffer (none mapped yet) has no gate.
  if (!t.read_mem(RemotePtr<>(RR_FD_GATE_ADDR), have, sizeof have) || memcmp(have, want, sizeof want) == 0) return;
  rr_fd_gate gate = {};
  memcpy(gate.stamp, want, sizeof want);
  for (const auto& [fd, e] : rt.fds->entries()) {
    if (fd < 0 || fd >= RR_FD_LIMIT) continue;
    auto [read, write] = fd_gate_for(rt, fd, e.kind);
    if (read) gate.read[fd / 8] |= (uint8_t)(1u << (fd % 8));
    if (write) gate.write[fd / 8] |= (uint8_t)(1u << (fd % 8));
  }
  t.write_mem(RemotePtr<>(RR_FD_GATE_ADDR), &gate, sizeof gate);
}

}  // namespace rr
