// Where a recorded program's writes go beyond its own memory: the echo gate
// (the order of writes to stdout), new descriptors that are the original
// stdout or stderr or the process's own /proc/PID/mem, and writes through
// the latter (record_session.h).
#include "record/record_session.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <algorithm>
#include <cstring>
#include <vector>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/io.h"

namespace rr {

namespace {

// What the tracee's descriptor names (the link /proc/TID/fd/N), or empty.
std::string fd_target(pid_t tid, int fd) {
  std::string path = "/proc/" + std::to_string(tid) + "/fd/" + std::to_string(fd);
  char link[128];
  ssize_t n = readlink(path.c_str(), link, sizeof link - 1);
  return n > 0 ? std::string(link, n) : std::string();
}

// The process whose memory `target` is (/proc/PID/mem or
// /proc/PID/task/TID/mem, PID as the recorder sees it), or 0.
pid_t mem_owner(const std::string& target) {
  bool mem = target.rfind("/proc/", 0) == 0 && target.size() > 4 && target.compare(target.size() - 4, 4, "/mem") == 0;
  return mem ? (pid_t)atoi(target.c_str() + 6) : 0;
}

}  // namespace

bool RecordSession::same_process(const RecordTask& t, pid_t live_pid) const {
  const RecordTask* other = find_task(RecordedTid{live_pid});
  return live_pid == t.live_tgid() || (other && other->tgid == t.tgid);
}

// A file is the original stdout or stderr when it is the same inode, except
// the memory devices (/dev/null, /dev/zero): a program's own /dev/null is
// not where the user reads, even when rr's stdout is /dev/null too.
Result<FdTable::Kind> RecordSession::classify_new_fd(RecordTask& t, int fd) const {
  std::string target = fd_target(t.tid(), fd);
  if (pid_t owner = mem_owner(target)) {
    if (same_process(t, owner)) return FdTable::Kind::SelfMem;
    std::string info;
    if (auto fdinfo = read_file("/proc/" + std::to_string(t.tid()) + "/fdinfo/" + std::to_string(fd)); fdinfo.ok())
      info = fdinfo.value();
    size_t at = info.find("flags:");
    unsigned long flags = at == std::string::npos ? O_RDWR : strtoul(info.c_str() + at + 6, nullptr, 8);
    // Writes through it change that process: followed like a tracer's pokes.
    if ((flags & O_ACCMODE) != O_RDONLY && find_task(RecordedTid{owner})) return FdTable::Kind::SelfMem;
    return FdTable::Kind::Other;
  }
  struct stat st;
  std::string path = "/proc/" + std::to_string(t.tid()) + "/fd/" + std::to_string(fd);
  if (stat(path.c_str(), &st) != 0) return FdTable::Kind::Other;
  if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1) return FdTable::Kind::Other;
  for (int k = 0; k < 2; ++k)
    if (output_files_[k] && output_files_[k]->first == st.st_dev && output_files_[k]->second == st.st_ino)
      return k == 0 ? FdTable::Kind::Stdout : FdTable::Kind::Stderr;
  return FdTable::Kind::Other;
}

Result<FdTable::Kind> RecordSession::classify_and_mark_fd(RecordTask& rt, int fd) {
  if (rt.fds->echo_target(fd)) return FdTable::Kind::Other;
  RR_ASSIGN_OR_RETURN(FdTable::Kind kind, classify_new_fd(rt, fd));
  if (kind != FdTable::Kind::Other) rt.fds->mark(fd, kind);
  return kind;
}

Status RecordSession::classify_received_fds(RecordTask& rt, const SyscallArgs& call) {
  Task& t = *rt.task;
  std::vector<uint64_t> headers;  // struct msghdr addresses the call filled
  if (call.nr == SYS_recvmsg) {
    headers.push_back(call.arg[1]);
  } else {
    for (int64_t i = 0; i < call.ret; ++i) headers.push_back(call.arg[1] + i * sizeof(struct mmsghdr));
  }
  for (uint64_t at : headers) {
    struct msghdr h;
    if (!t.read_mem(RemotePtr<>(at), &h, sizeof(h)) || !h.msg_control || h.msg_controllen == 0) continue;
    std::vector<char> control(std::min<size_t>(h.msg_controllen, 1 << 16));
    if (!t.read_mem(RemotePtr<>(reinterpret_cast<uint64_t>(h.msg_control)), control.data(), control.size())) continue;
    h.msg_control = control.data();
    h.msg_controllen = control.size();
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0)) continue;
      size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < n; ++i) {
        int fd;
        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        RR_ASSIGN_OR_RETURN(FdTable::Kind kind, classify_and_mark_fd(rt, fd));
        (void)kind;
      }
    }
  }
  return {};
}

// A write through the process's own /proc/PID/mem changed its memory at
// the file offset: those bytes are recorded as the kernel's writes.
Status RecordSession::record_self_mem_write(RecordTask& rt, const SyscallDesc& desc, const SyscallArgs& call,
                                            std::vector<MemRange>& ranges) {
  if (!desc.write.writes() || call.failed() || call.ret == 0) return {};
  int fd = (int)call.arg[desc.write.fd];
  if (rt.fds->kind(fd) != FdTable::Kind::SelfMem) return {};
  // Another process's memory (a debugger's breakpoints; or a child made by
  // fork shares the descriptor, still on its parent's memory): the bytes
  // went there, not into the caller.
  pid_t owner = mem_owner(fd_target(rt.tid(), fd));
  bool other = !same_process(rt, owner);
  RecordTask* target = other ? find_task(RecordedTid{owner}) : nullptr;
  if (other && !target)
    return make_error(ErrorKind::Unsupported, "writing through /proc/PID/mem into a process that has ended");
  // The bytes land in one run from the offset, however many buffers the
  // call gathered them from. pwritev2 at offset -1 writes at the position.
  uint64_t offset = 0;
  bool positioned = call.nr == SYS_pwrite64 || call.nr == SYS_pwritev ||
                    (call.nr == SYS_pwritev2 && (int64_t)call.arg[3] != -1);
  if (positioned) {
    offset = call.arg[3];
  } else if (call.nr == SYS_write || call.nr == SYS_writev || call.nr == SYS_pwritev2) {
    int64_t pos = tracee_fd_pos(*rt.task, fd);
    if (pos < 0) return make_error("cannot read the position of /proc/PID/mem after a write to it");
    offset = (uint64_t)pos - (uint64_t)call.ret;
  } else {
    return make_error(ErrorKind::Unsupported, "writing to the program's own memory through /proc/PID/mem with " +
                                                  syscall_name(call.nr) + " is not supported yet");
  }
  if (other) {
    // Replay makes the same change to that process (SyscallEvent.traceeWrites).
    std::string bytes(call.ret, '\0');
    if (!target->task->read_mem(RemotePtr<>(offset), bytes.data(), bytes.size()))
      return make_error("cannot read what a write through /proc/PID/mem put into process " + std::to_string(owner));
    rt.ptrace_effect.tracee = target->recorded();
    rt.ptrace_effect.writes.emplace_back(offset, std::move(bytes));
    return {};
  }
  ranges.push_back({RemotePtr<>(offset), (uint64_t)call.ret});
  return {};
}

bool RecordSession::writes_to_echo(const RecordTask& t, const Registers& entry) const {
  const SyscallDesc* desc = syscall_desc(entry.syscallno());
  return desc && desc->write.writes() && t.fds->echo_target((int64_t)entry.arg(desc->write.fd));
}

void RecordSession::open_echo_gate(const RecordTask& t) {
  if (echo_writer_ != &t) return;
  echo_writer_ = nullptr;
  for (auto& [tid, o] : tasks_)
    if (o->state == RecordTask::State::EchoWait) o->state = RecordTask::State::Unprocessed;
}

}  // namespace rr
