// System V shared memory in replay. The segments the recording used are
// not made again in the kernel (their ids are the recording's, and a
// segment outlives the processes that forget to remove it): each one is a
// memfd of replay's own, made at its first attachment, mapped shared at
// the recorded address and filled with what the recorder found in the
// segment there; processes that attach it share it as they did.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "core/address_space.h"
#include "core/remote_syscalls.h"
#include "replay/replay_session.h"
#include "trace/trace_files.h"
#include "util/io.h"

namespace rr {

namespace {

constexpr const char* kShmName = "rr-shm";
constexpr uint64_t kIpc64 = 0x100;  // the bit glibc may add to a control command

bool is_shm_mapping(const MapEntry& e) { return e.shared && e.name.rfind(std::string("/memfd:") + kShmName, 0) == 0; }

}  // namespace

void ReplaySession::note_shm_call(trace::SyscallEvent::Reader sc) {
  int64_t result = sc.getResult();
  if (result < 0) return;
  Registers entry = regs_from_capnp(sc.getEntryRegs());
  if (sc.getNumber() == SYS_shmget) {
    // An id the kernel hands out again is a new segment.
    auto it = shm_segments_.find(result);
    if (it != shm_segments_.end() && it->second.removed) shm_segments_.erase(it);
  } else if (sc.getNumber() == SYS_shmctl && (entry.arg(1) & ~kIpc64) == IPC_RMID) {
    // Gone once no one has it attached; until then its id still attaches.
    auto it = shm_segments_.find(static_cast<int>(entry.arg(0)));
    if (it != shm_segments_.end()) it->second.removed = true;
  }
}

Status ReplaySession::replay_shm_attach(trace::Frame::Reader f, trace::SyscallEvent::Reader sc, ReplayTask& rt) {
  Task& t = *rt.task;
  if (!sc.getHasMap() || sc.getMap().getShmId() < 0)
    return divergence(f, "the trace's shmat has no segment (a trace older than format 1.5?)");
  auto map = sc.getMap();
  ShmSegment& seg = shm_segments_[map.getShmId()];
  if (!seg.fd.is_open()) {
    seg.fd = ScopedFd(memfd_create(kShmName, MFD_CLOEXEC));
    if (!seg.fd.is_open()) return make_error("cannot make replay's copy of a System V segment (memfd_create): " + errno_text());
  }
  struct stat st;
  if (fstat(seg.fd.get(), &st) != 0) return make_error("fstat of replay's copy of a System V segment: " + errno_text());
  // Attached nowhere, the copy starts again from what the recorder found:
  // only the pages that were not zero are in the trace.
  if (!maps_segment(st.st_ino) && ftruncate(seg.fd.get(), 0) != 0)
    return make_error("cannot clear replay's copy of a System V segment: " + errno_text());
  if (ftruncate(seg.fd.get(), (off_t)std::max<uint64_t>(map.getLength(), st.st_size)) != 0)
    return make_error("cannot size replay's copy of a System V segment: " + errno_text());
  // What the segment held when it was attached, written into the object
  // itself: the mapping may be read-only (SHM_RDONLY).
  for (auto w : sc.getWrites()) {
    uint64_t off = w.getAddr() - map.getStart();
    auto data = w.getData();
    if (w.getAddr() < map.getStart() || off + data.size() > map.getLength())
      return divergence(f, "shmat's recorded contents fall outside the segment");
    for (size_t done = 0; done < data.size();) {
      ssize_t n = pwrite(seg.fd.get(), data.begin() + done, data.size() - done, (off_t)(off + done));
      if (n <= 0) return make_error("cannot fill replay's copy of a System V segment: " + errno_text());
      done += n;
    }
  }
  int64_t got;
  {
    RemoteSyscalls rs(t);
    std::string path = "/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(seg.fd.get());
    // Opened as the kernel opens the segment for the attachment, so that
    // mprotect answers alike (SHM_RDONLY: no PROT_WRITE later). Each
    // attachment gets an open file of its own, as in the kernel, so that
    // adjacent attachments stay apart: not tracee_file_fd, which reuses one
    // open file per file so that adjacent mappings merge.
    uint64_t mode = (map.getProt() & PROT_WRITE) ? O_RDWR : O_RDONLY;
    int64_t fd = rs.checked("opening replay's copy of a System V segment", SYS_openat,
                            {(uint64_t)AT_FDCWD, rs.scratch_string(path).as_int(), mode | O_CLOEXEC});
    got = rs.syscall(SYS_mmap, {map.getStart(), map.getLength(), map.getProt(), (uint64_t)(MAP_SHARED | MAP_FIXED),
                                (uint64_t)fd, 0});
    rs.syscall(SYS_close, {(uint64_t)fd});
  }
  RR_TRY(check_result(f, sc, got));
  Registers r = t.regs();
  r.set_syscall_result(sc.getResult());
  t.set_regs(r);
  return {};
}

// shmdt(addr) as the kernel does it: the first mapping from addr on that
// maps a segment at the offset it would have if attached at addr names
// the segment; every mapping of that segment within the segment's length
// from addr, at its matching offset, goes. (The kernel keeps to the
// fragments of that one attachment; replay's copies of one segment are
// one object, so a fragment of another attachment of the same segment,
// moved there by mremap at the matching offset, would go too.)
Status ReplaySession::replay_shm_detach(trace::Frame::Reader f, trace::SyscallEvent::Reader sc, ReplayTask& rt) {
  Task& t = *rt.task;
  uint64_t addr = regs_from_capnp(sc.getEntryRegs()).arg(0);
  std::vector<MapEntry> maps = read_maps(t.tid());
  auto matches = [&](const MapEntry& e) { return is_shm_mapping(e) && e.start.as_int() - addr == e.offset; };
  auto first = std::find_if(maps.begin(), maps.end(), [&](const MapEntry& e) {
    return e.end.as_int() > addr && e.start.as_int() >= addr && matches(e);
  });
  if (first == maps.end()) return divergence(f, "shmdt found no attached segment at " + std::to_string(addr));
  uint64_t inode = first->inode;
  uint64_t length = 0;
  for (auto& [id, seg] : shm_segments_) {
    struct stat st;
    if (seg.fd.is_open() && fstat(seg.fd.get(), &st) == 0 && st.st_ino == inode) length = page_ceil(st.st_size);
  }
  if (!length) return divergence(f, "shmdt at " + std::to_string(addr) + " found a segment replay did not make");
  {
    RemoteSyscalls rs(t);
    for (auto e = first; e != maps.end() && (e == first || e->end.as_int() - addr <= length); ++e)
      if (e->inode == inode && matches(*e))
        rs.checked("detaching a System V segment", SYS_munmap, {e->start.as_int(), e->end.as_int() - e->start.as_int()});
  }
  Registers r = t.regs();
  r.set_syscall_result(sc.getResult());
  t.set_regs(r);
  return {};
}

bool ReplaySession::maps_segment(uint64_t inode) const {
  if (shm_segments_.empty()) return false;
  for (const auto& [tid, rt] : tasks_)
    for (const MapEntry& e : read_maps(rt->task->tid()))
      if (is_shm_mapping(e) && (inode == 0 || e.inode == inode)) return true;
  return false;
}

}  // namespace rr
