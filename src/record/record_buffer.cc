// RecordSession, the syscall buffer's recorder side (docs/syscall-buffer.md):
// the preloaded library it writes out, the seccomp filter that lets the
// library's calls through, the buffer it maps into every new image, and
// the records it takes out of it for the next frame.
#include <elf.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/perf_event.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <sstream>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "core/buffered_records.h"
#include "core/remote_syscalls.h"
#include "core/rr_page.h"
#include "core/syscall_restart.h"
#include "core/syscall_table.h"
#include "core/task_mem_reader.h"
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
  // Without CAP_SYS_ADMIN the kernel takes a filter only from a process
  // with no_new_privs, which setuid programs then lose; with it (root) the
  // program keeps its no_new_privs as it was.
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0) return 0;
  if (errno != EACCES) return errno;
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
  // The new image's library asks for a desched event again; the old one
  // was closed with the image (close-on-exec), as were those of the threads
  // that ended.
  rt.desched_slot = 0;
  rt.desched_wanted = false;
  rt.desched_fd = -1;
  rt.desched_copy.reset();
  rt.desched_inherited.clear();
  orphan_desched_.erase(rt.tgid);
  if (!syscall_buffer_) return;
  Task& t = *rt.task;
  t.write_mem(RemotePtr<>(RR_BUFFERED_ENTRY), kRrBufferedEntryRecord, sizeof(kRrBufferedEntryRecord));
  {
    RemoteSyscalls rs(t, RemoteSyscalls::MayDie{});
    rs.checked("mapping the syscall buffer", SYS_mmap,
               {RR_BUFFER_ADDR, RR_BUFFER_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                (uint64_t)-1, 0});
    if (!after_calls_inside(rt, rs)) return;
  }
  rr_buffer_header h = {RR_BUFFER_MAGIC, rt.unbuffered ? 1u : 0u, 0, (uint32_t)RR_BUFFER_DATA_SIZE};
  t.write_mem(RemotePtr<>(RR_BUFFER_ADDR), &h, sizeof h);
  // RR_NO_LIBC_PATCH=1 leaves libc as it is: to measure what the rewriting
  // brings, or to rule it out when a recording goes wrong.
  const char* no_patch = getenv("RR_NO_LIBC_PATCH");
  uint32_t options = no_patch && strcmp(no_patch, "1") == 0 ? 0 : RR_OPTION_PATCH_LIBC;
  t.write_mem(RemotePtr<>(RR_OPTIONS_ADDR), &options, sizeof options);
}

namespace {

// The DT_NEEDED names of the ELF file at `path`: the libraries ld.so loads
// for it. Empty for a static file, or one that cannot be read.
std::vector<std::string> needed_libraries(const std::string& path) {
  std::vector<std::string> out;
  ScopedFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  Elf64_Ehdr eh;
  if (!fd.is_open() || pread(fd.get(), &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 256)
    return out;
  std::vector<Elf64_Phdr> ph(eh.e_phnum);
  ssize_t ph_len = (ssize_t)(ph.size() * sizeof(Elf64_Phdr));
  if (pread(fd.get(), ph.data(), ph_len, (off_t)eh.e_phoff) != ph_len) return out;
  // The dynamic section names its string table by address: the file offset
  // is found through the loadable segment that holds it.
  auto offset_of = [&](uint64_t addr) -> std::optional<uint64_t> {
    for (const Elf64_Phdr& p : ph)
      if (p.p_type == PT_LOAD && addr >= p.p_vaddr && addr < p.p_vaddr + p.p_filesz) return addr - p.p_vaddr + p.p_offset;
    return std::nullopt;
  };
  for (const Elf64_Phdr& p : ph) {
    if (p.p_type != PT_DYNAMIC || p.p_filesz > (1u << 20)) continue;
    std::vector<Elf64_Dyn> dyn(p.p_filesz / sizeof(Elf64_Dyn));
    ssize_t dyn_len = (ssize_t)(dyn.size() * sizeof(Elf64_Dyn));
    if (pread(fd.get(), dyn.data(), dyn_len, (off_t)p.p_offset) != dyn_len) return out;
    std::optional<uint64_t> strtab;
    for (const Elf64_Dyn& d : dyn)
      if (d.d_tag == DT_STRTAB) strtab = offset_of(d.d_un.d_ptr);
    if (!strtab) return out;
    for (const Elf64_Dyn& d : dyn) {
      if (d.d_tag == DT_NULL) break;
      if (d.d_tag != DT_NEEDED) continue;
      char name[256];
      ssize_t n = pread(fd.get(), name, sizeof name - 1, (off_t)(*strtab + d.d_un.d_val));
      if (n <= 0) continue;
      name[n] = 0;
      out.emplace_back(name);
    }
  }
  return out;
}

bool is_asan_runtime(const std::string& name) {
  return name.find("libasan.so") != std::string::npos || name.find("libclang_rt.asan") != std::string::npos;
}

}  // namespace

// ASan's runtime, when the program links it dynamically, stops the program
// at start unless the runtime is the first library loaded after the
// program itself ("ASan runtime does not come first in initial library
// list"), and LD_PRELOAD puts our library first. Such a program runs
// without the library: its name in the LD_PRELOAD value of the new image's
// environment (where ld.so is about to read it) becomes spaces, which
// LD_PRELOAD skips, so the value keeps its length and nothing else on the
// stack moves. Its calls all go the traced way, as without the buffer; the
// environment it passes on keeps the spaces, so the programs it starts run
// without the library too. Part of the image, so replay sees the same bytes.
void RecordSession::preload_behind_sanitizer(RecordTask& rt) {
  if (!syscall_buffer_ || preload_path_.empty()) return;
  Task& t = *rt.task;
  char exe[4096];
  std::string link = "/proc/" + std::to_string(t.tid()) + "/exe";
  ssize_t n = readlink(link.c_str(), exe, sizeof exe - 1);
  if (n <= 0) return;
  exe[n] = 0;
  std::vector<std::string> needed = needed_libraries(exe);
  if (std::none_of(needed.begin(), needed.end(), is_asan_runtime)) return;
  RemotePtr<uint64_t> sp = t.regs().sp().cast<uint64_t>();
  uint64_t argc = t.read_val(sp);
  const std::string key = "LD_PRELOAD=";
  for (RemotePtr<uint64_t> envp = sp + (argc + 2);; envp += 1) {
    uint64_t at = t.read_val(envp);
    if (at == 0) return;
    std::string head(key.size() + preload_path_.size() + 1, '\0');
    if (!t.read_mem(RemotePtr<>(at), head.data(), head.size()) || head.rfind(key, 0) != 0) continue;
    // Ours is the first name (spawn puts it there); any name the user
    // preloads follows a colon and stays.
    char after = head.back();
    if (head.compare(key.size(), preload_path_.size(), preload_path_) != 0 || (after != 0 && after != ':' && after != ' '))
      return;
    std::string blank(preload_path_.size(), ' ');
    t.write_mem(RemotePtr<>(at + key.size()), blank.data(), blank.size());
    RR_LOG("%s needs ASan's runtime first: recorded without the syscall buffer", exe);
    return;
  }
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
  // Replay locks it at the same event: the library reads the lock before
  // anything else, and a tracer that single-steps it sees those steps.
  locked_buffers_.push_back(rt.tid());
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
  // Records are whole words (rr_buffer_record_size), and the frame
  // references them whole words at a time.
  if (h.used > RR_BUFFER_DATA_SIZE || h.used % 8 != 0)
    return make_error(ErrorKind::Internal, "the syscall buffer of task " + std::to_string(t.tid()) + " says it holds " +
                                               std::to_string(h.used) + " bytes");
  // Read straight onto the end of what the frame will hold: the buffer keeps
  // its capacity from event to event, so a full buffer costs one copy and no
  // fresh pages.
  ByteBuffer& kept = rt.buffered_records;
  size_t start = kept.size();
  kept.resize(start + h.used);
  t.read_exact(RemotePtr<>(RR_BUFFER_ADDR + sizeof h), kept.data() + start, h.used);
  auto records = parse_buffered_records(std::string_view(reinterpret_cast<const char*>(kept.data()) + start, h.used));
  if (!records.ok()) {
    kept.resize(start);
    return records.take_error();
  }
  apply_buffered_fd_changes(rt.fds, records.value());
  uint32_t empty = 0;
  t.write_mem(RemotePtr<>(RR_BUFFER_ADDR + offsetof(rr_buffer_header, used)), &empty, sizeof empty);
  return {};
}

// Regular files and directories, which never block, and pipes and sockets,
// whose calls may block and are made with the thread's desched event armed
// (struct rr_desched). Writes stay traced for files in /proc and /sys
// (/proc/PID/mem, clear_refs: effects on the tracees), for the original
// stdout and stderr (echoed in replay) and for files the program maps (their
// changes are recorded, record_files.cc).
RecordSession::FdGate RecordSession::fd_gate_for(RecordTask& rt, int fd, FdTable::Kind kind) const {
  if (kind != FdTable::Kind::Other && kind != FdTable::Kind::Stdin) return {};
  std::string path = "/proc/" + std::to_string(rt.tid()) + "/fd/" + std::to_string(fd);
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return {};
  // A directory never blocks either: getdents64 reads it (read fails at once).
  if (S_ISDIR(st.st_mode)) return {true, false, false};
  if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) return {true, kind == FdTable::Kind::Other, true};
  if (!S_ISREG(st.st_mode)) return {};
  // O_DIRECT wants the caller's buffer aligned; the library reads into its
  // own buffer and would get EINVAL where the program would not.
  auto info = read_file("/proc/" + std::to_string(rt.tid()) + "/fdinfo/" + std::to_string(fd));
  size_t at = info.ok() ? info.value().find("flags:") : std::string::npos;
  if (at == std::string::npos || (strtoul(info.value().c_str() + at + 6, nullptr, 8) & O_DIRECT)) return {};
  struct statfs fs;
  if (statfs(path.c_str(), &fs) != 0) return {};
  bool special_fs = fs.f_type == PROC_SUPER_MAGIC || fs.f_type == SYSFS_MAGIC;
  std::pair<uint64_t, uint64_t> key{(uint64_t)st.st_dev, (uint64_t)st.st_ino};
  bool mapped = emulated_.count(key) || plain_mapped_.count(key);
  return {true, kind == FdTable::Kind::Other && !special_fs && !mapped, false};
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
    FdGate g = fd_gate_for(rt, fd, e.kind);
    uint8_t bit = (uint8_t)(1u << (fd % 8));
    if (g.read) gate.read[fd / 8] |= bit;
    if (g.write) gate.write[fd / 8] |= bit;
    if (g.block) gate.block[fd / 8] |= bit;
  }
  t.write_mem(RemotePtr<>(RR_FD_GATE_ADDR), &gate, sizeof gate);
  // Replay writes it at the same point (Frame.fdGate of the thread's next event).
  rt.gate_written.assign(reinterpret_cast<const char*>(&gate), sizeof gate);
}

// Blocking calls (docs/syscall-buffer.md, "Blocking calls").

// At the exit of the library's request: the event is opened now and the
// call returns its descriptor, which the frame records (replay returns it
// too, so the library keeps the same bytes on both roads).
void RecordSession::answer_desched_request(RecordTask& rt) {
  const Registers& entry = rt.entry_regs;
  if (!syscall_buffer_ || entry.syscallno() != SYS_getppid || entry.arg(0) != RR_DESCHED_REQUEST || entry.arg(1) == 0)
    return;
  rt.desched_slot = entry.arg(1);
  // A task a tracer inside the recording traces makes every call the
  // traced way: no event, and no injected calls its tracer could see.
  int fd = rt.unbuffered || rt.traced.by.value ? -1 : open_desched(rt, -1);
  if (rt.state == RecordTask::State::Unprocessed) return;  // killed meanwhile: its end comes next
  Registers r = rt.task->regs();
  r.set_syscall_result(fd);
  rt.task->set_regs(r);
}

namespace {

// The lowest number the event's descriptor takes in the tracee, out of the
// way of the numbers programs count on (the lowest free one); below it
// when the program's RLIMIT_NOFILE is lower.
constexpr uint64_t kDeschedFdFloor = 700;

bool is_desched_siginfo(const siginfo_t& si) {
  return si.si_signo == RR_DESCHED_SIGNAL && (si.si_code == POLL_IN || si.si_code == POLL_HUP);
}

// The recorder's own descriptor of the tracee's `fd` (pidfd_getfd), or -1.
int copy_tracee_fd(pid_t tid, int fd) {
  constexpr unsigned kPidfdThread = O_EXCL;  // PIDFD_THREAD (Linux 6.9)
  ScopedFd pidfd((int)syscall(SYS_pidfd_open, tid, kPidfdThread));
  if (!pidfd.is_open()) return -1;
  return (int)syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0);
}

}  // namespace

// What came while the recorder made calls inside the thread (as it goes to
// run user code, or at the desched request's exit). Signals are held for
// its next event, as any that comes during user code, but for a late
// desched signal, which means nothing. A SIGSTOP is sent again: it is most
// often the recorder's own, whose stop something waits for (an emulated
// PTRACE_ATTACH's, the tracer's wait a PTRACE_INTERRUPT ends); lost, the
// tracer waits for good. A SIGKILL that ended the thread meanwhile (its PID
// namespace's end, another process's kill): the stop or end the calls
// waited for is the thread's next, handled as any. Every RemoteSyscalls the
// recorder makes in a thread running the program ends here; returns whether
// the thread is still there.
bool RecordSession::after_calls_inside(RecordTask& rt, const RemoteSyscalls& rs) {
  hand_back_calls(rt, rs);
  if (rs.died()) {
    RR_LOG("task %d ended while the recorder made calls inside it", rt.tid());
    rt.died_in_calls = true;
  }
  return !rs.died();
}

void RecordSession::hand_back_calls(RecordTask& rt, const RemoteSyscalls& rs) {
  for (const siginfo_t& si : rs.stashed_signals())
    if (!is_desched_siginfo(si)) rt.held.push_back(si);
  if (rs.stop_suppressed()) syscall(SYS_tgkill, rt.live_tgid(), rt.tid(), SIGSTOP);
  if (rs.end_status()) stash_status(rt.tid(), *rs.end_status());
}

// The thread ended under the recorder's calls (rt.died_in_calls), and the
// event it was at is dropped: its end, which those calls waited for when
// they stopped at it, is handled now (no wait would see it again); else it
// comes with the thread's next wait status.
Status RecordSession::end_after_calls_inside(RecordTask& rt) {
  if (rt.state == RecordTask::State::Unprocessed) return handle_stop(rt);
  return {};
}

// Inside the thread, with injected calls that are no events (replay has no
// event to disarm: its library never blocks): a context-switch counter of
// the thread itself, disabled until the library enables it, whose every
// overflow (each switch) sends RR_DESCHED_SIGNAL to the thread (F_SETOWN_EX,
// F_SETSIG, O_ASYNC). Its descriptor is `at` when that is not -1 (a forked
// child's, the number its copy of the library's struct names). Returns the
// descriptor, or -1 when the event cannot be had.
int RecordSession::open_desched(RecordTask& rt, int at) {
  rt.desched_wanted = false;
  rt.desched_fd = -1;
  rt.desched_copy.reset();
  Task& t = *rt.task;
  RemoteSyscalls rs(t, RemoteSyscalls::MayDie{});
  for (int fd : rt.desched_inherited) rs.syscall(SYS_close, {(uint64_t)fd});
  rt.desched_inherited.clear();
  perf_event_attr attr = {};
  attr.type = PERF_TYPE_SOFTWARE;
  attr.size = sizeof attr;
  attr.config = PERF_COUNT_SW_CONTEXT_SWITCHES;
  attr.sample_period = 1;
  attr.disabled = 1;
  // Switches happen in the kernel: the event must count there, which
  // perf_event_paranoid 2 and above refuse to a user without CAP_PERFMON
  // (the calls that may block then stay traced).
  attr.exclude_kernel = 0;
  int64_t fd = rs.syscall(SYS_perf_event_open,
                          {rs.scratch(&attr, sizeof attr).as_int(), 0, (uint64_t)-1, (uint64_t)-1, PERF_FLAG_FD_CLOEXEC});
  if (fd >= 0) {
    int64_t moved = at >= 0 ? rs.syscall(SYS_dup3, {(uint64_t)fd, (uint64_t)at, O_CLOEXEC})
                            : rs.syscall(SYS_fcntl, {(uint64_t)fd, F_DUPFD_CLOEXEC, kDeschedFdFloor});
    if (moved >= 0) {
      rs.syscall(SYS_close, {(uint64_t)fd});
      fd = moved;
    }
    // The owner is named as the thread's own PID namespace names it; the
    // signal's si_fd is the number O_ASYNC was set on.
    struct f_owner_ex owner = {F_OWNER_TID, rt.ns_ids.empty() ? t.tid() : rt.ns_ids.back()};
    bool ok = (at < 0 || fd == at) &&
              rs.syscall(SYS_fcntl, {(uint64_t)fd, F_SETOWN_EX, rs.scratch(&owner, sizeof owner, 512).as_int()}) == 0 &&
              rs.syscall(SYS_fcntl, {(uint64_t)fd, F_SETSIG, RR_DESCHED_SIGNAL}) == 0 &&
              rs.syscall(SYS_fcntl, {(uint64_t)fd, F_SETFL, O_ASYNC}) == 0;
    int copy = ok ? copy_tracee_fd(t.tid(), (int)fd) : -1;
    if (copy >= 0) {
      rt.desched_copy.reset(copy);
      rt.desched_fd = (int)fd;
    } else {
      rs.syscall(SYS_close, {(uint64_t)fd});
    }
  }
  after_calls_inside(rt, rs);
  if (rt.desched_fd < 0) RR_LOG("task %d: no desched event; its calls that may block stay traced", t.tid());
  return rt.desched_fd;
}

// The events of the process's threads that ended are closed inside it.
void RecordSession::close_orphan_desched(RecordTask& rt) {
  auto it = orphan_desched_.find(rt.tgid);
  if (it == orphan_desched_.end()) return;
  std::vector<int> fds = std::move(it->second);
  orphan_desched_.erase(it);
  RemoteSyscalls rs(*rt.task, RemoteSyscalls::MayDie{});
  for (int fd : fds) rs.syscall(SYS_close, {(uint64_t)fd});
  after_calls_inside(rt, rs);
}

bool RecordSession::is_desched_stop(RecordTask& rt, int sig) {
  if (sig == SIGSTOP && rt.desched_kicked) {
    rt.desched_kicked = false;
    return true;
  }
  if (sig != RR_DESCHED_SIGNAL || rt.desched_fd < 0) return false;
  std::optional<siginfo_t> si = rt.task->try_siginfo();
  return si && is_desched_siginfo(*si) && si->si_fd == rt.desched_fd;
}

// The thread stopped with its desched signal (or rr's kick). Unless it is
// between enabling and disabling its event (`armed`), the signal came late
// and means nothing. Else it is about to make, or in, or just past its
// buffered call; the event is disabled (each stop is a switch, which would
// signal again) and the thread goes on under PTRACE_SYSCALL to its next
// syscall entry, as rr does: at the disabling ioctl the call is done, and
// its result stands; at the buffered call (interrupted and restarted, or
// not made yet) the call is skipped with RR_RESULT_BLOCKED in rax, and the
// library makes it the traced way. None of this is an event: the thread's
// stretch of user code goes on.
Status RecordSession::on_desched(RecordTask& rt) {
  Task& t = *rt.task;
  ResumeHow user = rt.unbuffered ? ResumeHow::Syscall : ResumeHow::Cont;
  auto disable = [&] {
    if (rt.desched_copy.is_open()) ioctl(rt.desched_copy.get(), PERF_EVENT_IOC_DISABLE, 0);
  };
  disable();
  rr_desched d = {};
  if (!rt.desched_slot || !t.read_mem(RemotePtr<>(rt.desched_slot), &d, sizeof d) || !d.armed) {
    t.try_resume(user);
    return {};
  }
  const RemotePtr<> after_call(RR_BUFFERED_ENTRY_AFTER_SYSCALL);
  Registers r = t.regs();
  if (r.ip() == after_call && r.syscallno() >= 0 && r.syscallno() != SYS_ioctl && r.syscall_result() == -EINTR) {
    // Interrupted for good (epoll_wait, a socket's timeout): the kernel
    // would not restart it, and the program must not see an EINTR that no
    // signal of its own caused. Restarted here.
    r.set_ip(RemotePtr<>(RR_BUFFERED_ENTRY));
    r.set_syscall_result(r.syscallno());
    t.set_regs(r);
  }
  for (;;) {
    t.try_resume(ResumeHow::Syscall);
    int status;
    pid_t p = waitpid(t.tid(), &status, __WALL);
    if (p < 0 && errno == EINTR) continue;
    if (p != t.tid()) return make_error("waitpid for task " + std::to_string(t.tid()) + ": " + errno_text());
    WaitStatus st(status);
    if (st.ended() || st.ptrace_event() != 0) {
      // Its end, or an exit stop (a kill): handled as any stop.
      stash_status(p, status);
      return handle_stop(rt);
    }
    t.note_status(st);
    if (st.is_syscall_stop()) {
      if (!t.at_syscall_entry()) continue;  // a skipped call's exit
      Registers now = t.regs();
      if (now.ip() != after_call) {
        // The thread left the library's window: an ordinary entry.
        stash_status(p, status);
        return handle_stop(rt);
      }
      if (now.syscallno() == SYS_ioctl && now.arg(1) == PERF_EVENT_IOC_DISABLE) {
        t.try_resume(user);  // the buffered call is done
        return {};
      }
      bool enabling = now.syscallno() == SYS_ioctl && now.arg(1) == PERF_EVENT_IOC_ENABLE;
      now.set_syscallno(-1);  // an invalid number leaves rax as set here
      if (enabling) {
        now.set_syscall_result(0);  // enabling (again): nothing to do
        t.set_regs(now);
        continue;
      }
      now.set_syscall_result(RR_RESULT_BLOCKED);
      t.set_regs(now);
      t.try_resume(user);
      return {};
    }
    int sig = st.stop_sig();
    std::optional<siginfo_t> si = t.try_siginfo();
    disable();
    if (sig == SIGSTOP && rt.desched_kicked) {
      rt.desched_kicked = false;
      continue;
    }
    if (!si || is_desched_siginfo(*si)) continue;
    // Another signal: user code ran since the last event, so it waits for
    // the next one, as on_signal holds it.
    rt.held.push_back(*si);
  }
}

// A signal (not the desched one) stopped the thread inside a buffered call
// that it interrupted, or that failed with EPIPE and raised SIGPIPE: the
// call did nothing. Its result becomes RR_RESULT_BLOCKED (the kernel does
// not restart it), so the library makes it again the traced way, where the
// signal, held by on_signal and sent again at that call's entry, reaches it
// as it would natively (a handler runs before the call returns; SIGPIPE's
// default action kills before the program sees EPIPE).
void RecordSession::abort_interrupted_buffered_call(RecordTask& rt) {
  Task& t = *rt.task;
  Registers r = t.regs();
  if (r.ip() != RemotePtr<>(RR_BUFFERED_ENTRY_AFTER_SYSCALL) || r.syscallno() < 0 || r.syscallno() == SYS_ioctl) return;
  int64_t ret = r.syscall_result();
  bool nothing_done = ret == -EINTR || ret == -EPIPE || ret == kERestartSys || ret == kERestartNoIntr ||
                      ret == kERestartNoHand || ret == kERestartRestartBlock;
  if (!nothing_done) return;
  r.set_syscall_result(RR_RESULT_BLOCKED);
  t.set_regs(r);
}

// A thread running user code that sleeps in the buffered entry for a while
// with no stop: no desched signal woke it (the program blocks the signal,
// closed the event's descriptor, or is a vfork child using its parent's).
// A SIGSTOP interrupts the call, and on_desched takes it from there.
void RecordSession::kick_blocked_buffered_call() {
  constexpr auto kAfter = std::chrono::milliseconds(200);
  RecordTask* t = running_;
  // One SIGSTOP of rr's at a time (two would be one stop): not while the
  // long run's nudge is on its way.
  if (!syscall_buffer_ || !t || t->state != RecordTask::State::Running || t->in_syscall || t->desched_kicked ||
      t->nudge_kicked)
    return;
  auto now = std::chrono::steady_clock::now();
  if (now - t->ran_since < kAfter || now - last_kick_look_ < kAfter) return;
  last_kick_look_ = now;
  std::ifstream in("/proc/" + std::to_string(t->tid()) + "/syscall");
  std::string line;
  if (!std::getline(in, line)) return;
  std::istringstream fields(line);
  std::vector<std::string> f{std::istream_iterator<std::string>(fields), std::istream_iterator<std::string>()};
  if (f.size() < 3 || f[0] == "running" || f[0] == std::to_string(SYS_ioctl)) return;
  if (std::strtoull(f.back().c_str(), nullptr, 16) != RR_BUFFERED_ENTRY_AFTER_SYSCALL) return;
  char state = proc_state(t->tid());
  if (state != 'S' && state != 'D') return;
  RR_LOG("task %d: asleep in buffered syscall %s without a desched signal: interrupted", t->tid(), f[0].c_str());
  t->desched_kicked = true;
  syscall(SYS_tgkill, t->live_tgid(), t->tid(), SIGSTOP);
}

}  // namespace rr
