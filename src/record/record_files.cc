// RecordSession, files that replay emulates. A regular file the program maps
// from a descriptor open for writing (shared or private) is one that can
// change under its mappings; replay backs all its mappings by one copy
// of its own (ReplaySession::emulated_file) and must change that copy as the
// file changed. Writes through the mappings need nothing: the program makes
// them again in replay, into the same copy. Every syscall that writes to the
// file, resizes it or punches a hole in it is recorded as FileChanges: the
// bytes it holds afterwards in the range the call touched, and its size.
// Then every mapping, shared or private (for its pages not yet copied on
// write), sees what it saw, and a page past the end faults where it did.
//
// What the recording cannot see is refused where it shows: a file whose
// size changed while it is mapped by a process outside the recording
// (docs/architecture.md, "Files that change under a mapping").
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/address_space.h"
#include "record/record_session.h"
#include "util/io.h"
#include "util/scoped_fd.h"

namespace rr {

bool RecordSession::file_mapped_now(std::pair<uint64_t, uint64_t> id, pid_t skip_pid, uint64_t skip_start,
                                    uint64_t skip_end) const {
  std::set<pid_t> seen;
  std::vector<MapEntry> maps;
  for (const auto& [tid, t] : tasks()) {
    pid_t pid = t->live_tgid();
    if (!seen.insert(pid).second || !try_read_maps(pid, maps)) continue;
    for (const MapEntry& e : maps) {
      if (e.dev != id.first || e.inode != id.second) continue;
      if (pid == skip_pid && e.start.as_int() >= skip_start && e.end.as_int() <= skip_end) continue;
      return true;
    }
  }
  return false;
}

Result<std::string> RecordSession::mapped_file(RecordTask& rt, const SyscallArgs& call, const std::string& fd_path,
                                               const struct stat& st, const std::string& name) {
  std::pair<uint64_t, uint64_t> key{(uint64_t)st.st_dev, (uint64_t)st.st_ino};
  uint64_t start = (uint64_t)call.ret, end = start + page_ceil(call.arg[1]);
  // How /proc/PID/maps names the file: from the new mapping itself.
  std::pair<uint64_t, uint64_t> maps_id = key;
  std::vector<MapEntry> maps;
  if (try_read_maps(rt.live_tgid(), maps))
    for (const MapEntry& e : maps)
      if (e.start.as_int() <= start && start < e.end.as_int()) maps_id = {e.dev, e.inode};
  auto known = emulated_.find(key);
  if (known != emulated_.end() && file_mapped_now(known->second.maps_id, rt.live_tgid(), start, end)) {
    // Another mapping of it lives: replay must map the same copy, which
    // has followed every change the recording saw.
    if (known->second.size != (uint64_t)st.st_size)
      return make_error(ErrorKind::Unsupported,
                        name + " changed size (" + std::to_string(known->second.size) + " to " +
                            std::to_string(st.st_size) +
                            " bytes) while mapped, by a change the recording did not see (a process outside it): "
                            "replay could not reproduce it (event " +
                            std::to_string(next_event_) + ")");
    return known->second.copy;
  }
  // The lstat of /proc/PID/fd/N shows the descriptor's access mode. A file
  // mapped from a read-only descriptor (glibc's gconv cache, mapped shared)
  // keeps a plain copy, which lets checkpoints be taken: the program is not
  // about to change it.
  struct stat link;
  bool writable_fd = lstat(fd_path.c_str(), &link) == 0 && (link.st_mode & S_IWUSR);
  bool emulate = writable_fd || known != emulated_.end();
  RR_ASSIGN_OR_RETURN(std::string stored, files_.store(fd_path, name));
  if (!emulate) {
    if (plain_mapped_.insert_or_assign(key, maps_id).second) ++mapped_files_epoch_;
    return stored;
  }
  // A mapping of the plain copy that still lives would not see changes.
  auto plain = plain_mapped_.find(key);
  bool plain_too = plain != plain_mapped_.end() && file_mapped_now(plain->second, rt.live_tgid(), start, end);
  emulated_[key] = EmulatedFile{stored, (uint64_t)st.st_size, maps_id, plain_too};
  ++mapped_files_epoch_;
  shared_files_.insert(stored);
  return stored;
}

namespace {

// Where the bytes of a write of `written` bytes start in the file, by the
// row: at an offset argument, through an loff_t pointer the kernel moved
// past them, or else before the file position the call left.
int64_t write_start(Task& t, const FdWrite& w, const SyscallArgs& call, uint64_t written) {
  if (w.data == WrittenData::FromFd && w.off >= 0 && call.arg[w.off] != 0) {
    uint64_t after = 0;
    if (!t.read_mem(RemotePtr<>(call.arg[w.off]), &after, sizeof after)) return -1;
    return (int64_t)(after - written);
  }
  if (w.at >= 0 && (int64_t)call.arg[w.at] != -1) return (int64_t)call.arg[w.at];
  int64_t pos = tracee_fd_pos(t, call.arg[w.fd]);
  return pos < 0 ? -1 : pos - (int64_t)written;
}

// The NUL-terminated string at `at` in the tracee ("" if unreadable).
std::string tracee_string(Task& t, uint64_t at) {
  std::string out;
  char chunk[256];
  while (out.size() < PATH_MAX) {
    // Byte by byte at the end of a page, which may be the last readable one.
    size_t n = std::min<size_t>(sizeof chunk, 4096 - (at + out.size()) % 4096);
    if (!t.read_mem(RemotePtr<>(at + out.size()), chunk, n)) return "";
    size_t len = strnlen(chunk, n);
    out.append(chunk, len);
    if (len < n) return out;
  }
  return "";
}

}  // namespace

Status RecordSession::record_file_changes(RecordTask& rt, const SyscallDesc& desc, const SyscallArgs& call,
                                          trace::SyscallEvent::Builder sc) {
  const FdWrite& w = desc.write;
  // truncate(2) names the file by its path, which has no row of its own.
  bool by_path = call.nr == SYS_truncate;
  if (call.failed() || !(w.writes() || by_path) || (emulated_.empty() && plain_mapped_.empty())) return {};
  std::string proc = "/proc/" + std::to_string(rt.tid());
  std::string fd_path;
  if (!by_path) {
    fd_path = proc + "/fd/" + std::to_string((int)call.arg[w.fd]);
  } else {
    std::string path = tracee_string(*rt.task, call.arg[0]);
    if (path.empty()) return {};
    fd_path = path[0] == '/' ? proc + "/root" + path : proc + "/cwd/" + path;
  }
  struct stat st;
  if (stat(fd_path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return {};
  std::pair<uint64_t, uint64_t> key{(uint64_t)st.st_dev, (uint64_t)st.st_ino};
  auto it = emulated_.find(key);
  std::string where = " (event " + std::to_string(next_event_) + ")";
  if (it == emulated_.end()) {
    auto plain = plain_mapped_.find(key);
    if (plain != plain_mapped_.end() && file_mapped_now(plain->second, 0, 0, 0))
      return make_error(ErrorKind::Unsupported,
                        syscall_name(call.nr) +
                            " changed a file the program maps from a read-only descriptor; replay maps such files "
                            "from a copy that does not change" + where);
    return {};
  }
  if (it->second.plain_too && file_mapped_now(it->second.maps_id, 0, 0, 0))
    return make_error(ErrorKind::Unsupported,
                      syscall_name(call.nr) +
                          " changed a file the program maps both from a read-only descriptor and from a writable "
                          "one; replay maps the first from a copy that does not change" + where);
  // fallocate's modes that move the data after the range are not followed.
  if (call.nr == SYS_fallocate && (call.arg[1] & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)))
    return make_error(ErrorKind::Unsupported,
                      "fallocate collapsing or inserting a range of a mapped file is not supported yet" + where);
  // RWF_APPEND writes at the end whatever the offset argument says.
  if (call.nr == SYS_pwritev2 && (call.arg[5] & RWF_APPEND))
    return make_error(ErrorKind::Unsupported, "pwritev2 with RWF_APPEND into a mapped file is not supported yet" + where);
  uint64_t size = (uint64_t)st.st_size;
  // The range of the file the call may have changed besides its size.
  int64_t start = 0;
  uint64_t len = 0;
  if (by_path) {
    // Only the size changed.
  } else if (w.data == WrittenData::Resize) {
    if (w.at >= 0 && w.count >= 0) {
      start = (int64_t)call.arg[w.at];
      len = call.arg[w.count];
    }
  } else {
    len = (uint64_t)call.ret;
    start = write_start(*rt.task, w, call, len);
    if (start < 0)
      return make_error("cannot tell where " + syscall_name(call.nr) + " wrote into a mapped file" + where);
  }
  uint64_t end = std::min<uint64_t>(size, (uint64_t)start + len);
  std::vector<std::pair<DataExtent, bool>> parts;  // (range, holds data)
  if ((uint64_t)start < end) {
    ScopedFd in(::open(fd_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in.is_open())
      return make_error("cannot read back what " + syscall_name(call.nr) + " wrote into a mapped file: " + errno_text() +
                        where);
    uint64_t pos = (uint64_t)start;
    for (const DataExtent& e : data_extents(in.get(), end, pos)) {
      uint64_t a = std::max(pos, e.offset), b = std::min(end, e.offset + e.length);
      if (a >= b) continue;
      if (a > pos) parts.push_back({{pos, a - pos}, false});
      parts.push_back({{a, b - a}, true});
      pos = b;
    }
    if (pos < end) parts.push_back({{pos, end - pos}, false});
    auto changes = sc.initFileChanges(parts.size());
    for (size_t i = 0; i < parts.size(); ++i) {
      auto c = changes[i];
      c.setFile(it->second.copy);
      c.setOffset(parts[i].first.offset);
      c.setSize(size);
      if (!parts[i].second) {
        c.setZeroLength(parts[i].first.length);
        continue;
      }
      std::string data(parts[i].first.length, '\0');
      if (pread(in.get(), data.data(), data.size(), (off_t)parts[i].first.offset) != (ssize_t)data.size())
        return make_error("cannot read back what " + syscall_name(call.nr) + " wrote into a mapped file" + where);
      c.setData(capnp_bytes(data));
    }
  } else {
    auto c = sc.initFileChanges(1)[0];
    c.setFile(it->second.copy);
    c.setOffset(0);
    c.setSize(size);
  }
  it->second.size = size;
  return {};
}

}  // namespace rr
