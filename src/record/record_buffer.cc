// RecordSession, the syscall buffer's recorder side (docs/syscall-buffer.md):
// the preloaded library it writes out, the seccomp filter that lets the
// library's calls through, the buffer it maps into every new image, and
// the records it takes out of it for the next frame.
#include <elf.h>
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

#include <algorithm>
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
