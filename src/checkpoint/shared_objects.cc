#include "checkpoint/shared_objects.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "checkpoint/checkpoint.h"
#include "core/page_scan.h"
#include "core/remote_syscalls.h"
#include "core/task.h"
#include "replay/replay_session.h"
#include "util/io.h"

namespace rr {

namespace {

enum Kind : uint8_t { kAnon = 0, kShm = 1, kEmulatedFile = 2 };

std::pair<uint64_t, uint64_t> file_key(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return {0, 0};
  return {(uint64_t)st.st_dev, (uint64_t)st.st_ino};
}

}  // namespace

SharedObjectWriter::SharedObjectWriter(ReplaySession& session) : session_(session) {
  for (const auto& [id, seg] : session.shm_segments()) {
    if (!seg.fd.is_open()) continue;
    Object o;
    o.kind = kShm;
    o.shm_id = id;
    o.removed = seg.removed;
    o.fd = seg.fd.get();
    by_file_[file_key(o.fd)] = objects_.size();
    objects_.push_back(o);
  }
  for (const auto& [name, fd] : session.emulated_files()) {
    Object o;
    o.kind = kEmulatedFile;
    o.file = name;
    o.fd = fd.get();
    by_file_[file_key(o.fd)] = objects_.size();
    objects_.push_back(o);
  }
}

int SharedObjectWriter::object_of(Task& t, const MapEntry& e) {
  auto it = by_file_.find({e.dev, e.inode});
  if (it != by_file_.end() && objects_[it->second].kind != kAnon) return it->second;
  if (!is_anon_shared(e)) return -1;
  int index;
  if (it != by_file_.end()) {
    index = it->second;
  } else {
    index = objects_.size();
    by_file_[{e.dev, e.inode}] = index;
    Object o;
    o.kind = kAnon;
    // The object's own size, where the kernel lets rr open it (map_files
    // needs CAP_CHECKPOINT_RESTORE); else what its mappings cover.
    struct stat st;
    char name[96];
    snprintf(name, sizeof name, "/proc/%d/map_files/%llx-%llx", t.tid(), (unsigned long long)e.start.as_int(),
             (unsigned long long)e.end.as_int());
    if (stat(name, &st) == 0) o.size = st.st_size;
    objects_.push_back(o);
  }
  Object& o = objects_[index];
  o.size = std::max<uint64_t>(o.size, e.offset + (e.end - e.start));
  o.sources.push_back(Source{&t, e.start, e.end, e.offset});
  return index;
}

Status SharedObjectWriter::write_from_fd(Object& o, const StorePage& store, CheckpointStats& stats,
                                         std::vector<std::pair<uint64_t, StoredPage>>& pages) {
  struct stat st;
  if (fstat(o.fd, &st) != 0) return make_error("cannot read replay's copy of " + (o.file.empty() ? "a segment" : o.file) + ": " + errno_text());
  o.size = st.st_size;
  std::vector<uint8_t> buf(256 * kPageSize);
  uint64_t end = page_ceil(st.st_size);
  // Holes are zeros: only the data the copy holds is read.
  for (off_t at = lseek(o.fd, 0, SEEK_DATA); at >= 0 && (uint64_t)at < end;) {
    off_t hole = lseek(o.fd, at, SEEK_HOLE);
    uint64_t stop = hole < 0 ? end : std::min<uint64_t>(end, page_ceil(hole));
    for (uint64_t off = page_floor(at); off < stop;) {
      size_t n = std::min<uint64_t>(buf.size(), stop - off);
      std::fill(buf.begin(), buf.begin() + n, 0);
      ssize_t got = pread(o.fd, buf.data(), n, off);
      if (got < 0) return make_error("cannot read replay's copy of " + (o.file.empty() ? "a segment" : o.file) + ": " + errno_text());
      for (size_t p = 0; p < n; p += kPageSize) {
        stats.resident_bytes += kPageSize;
        if (is_zero_page(buf.data() + p)) {
          ++stats.pages_zero;
          continue;
        }
        pages.emplace_back(off + p, store(buf.data() + p));
      }
      off += n;
    }
    at = lseek(o.fd, stop, SEEK_DATA);
  }
  return {};
}

void SharedObjectWriter::write_from_mappings(const Object& o, const StorePage& store, CheckpointStats& stats,
                                             std::vector<std::pair<uint64_t, StoredPage>>& pages) {
  std::set<uint64_t> done;  // offsets already read through another mapping
  for (const Source& src : o.sources) {
    PageScanner scanner(*src.task, session_.trace_dir());
    MappingRecord m;
    m.start = src.start;
    m.end = src.end;
    m.offset = src.offset;
    m.shared = true;
    scanner.scan(m, [&](RemotePtr<> addr, size_t n, PageKind kind, const uint8_t* bytes) {
      for (size_t p = 0; p < n; ++p) {
        uint64_t off = src.offset + (addr - src.start) + p * kPageSize;
        if (!done.insert(off).second) continue;
        if (kind == PageKind::Unreadable || kind == PageKind::Untouched) continue;
        stats.resident_bytes += kPageSize;
        if (kind != PageKind::Data || !bytes || is_zero_page(bytes + p * kPageSize)) {
          ++stats.pages_zero;
          continue;
        }
        pages.emplace_back(off, store(bytes + p * kPageSize));
      }
    });
  }
}

Status SharedObjectWriter::private_pages(Task& t, const MappingRecord& m,
                                         const std::function<void(RemotePtr<>, const uint8_t*)>& visit) {
  constexpr uint64_t kPresent = 1ull << 63, kSwapped = 1ull << 62, kFileOrShared = 1ull << 61;
  ScopedFd pagemap(::open(("/proc/" + std::to_string(t.tid()) + "/pagemap").c_str(), O_RDONLY | O_CLOEXEC));
  if (!pagemap.is_open()) return make_error("cannot read the page map of process " + std::to_string(t.tid()) + ": " + errno_text());
  size_t pages = (m.end - m.start) / kPageSize;
  std::vector<uint64_t> entries(pages);
  ssize_t want = pages * sizeof(uint64_t);
  if (pread(pagemap.get(), entries.data(), want, (m.start.as_int() / kPageSize) * sizeof(uint64_t)) != want)
    return make_error("cannot read the page map of process " + std::to_string(t.tid()) + ": " + errno_text());
  std::vector<uint8_t> page(kPageSize);
  for (size_t i = 0; i < pages; ++i) {
    uint64_t e = entries[i];
    if (!((e & kPresent) && !(e & kFileOrShared)) && !(e & kSwapped)) continue;
    RemotePtr<> at = m.start + i * kPageSize;
    if (!t.read_mem(at, page.data(), kPageSize)) return make_error("cannot read a private page of a mapped file at " + std::to_string(at.as_int()));
    visit(at, page.data());
  }
  return {};
}

Status SharedObjectWriter::write(const StorePage& store, CheckpointStats& stats, ckpt::CheckpointInfo::Builder info) {
  auto list = info.initObjects(objects_.size());
  for (size_t i = 0; i < objects_.size(); ++i) {
    Object& o = objects_[i];
    std::vector<std::pair<uint64_t, StoredPage>> pages;
    if (o.kind == kAnon)
      write_from_mappings(o, store, stats, pages);
    else
      RR_TRY(write_from_fd(o, store, stats, pages));
    auto out = list[i];
    out.setKind(o.kind);
    out.setSize(o.size);
    out.setFile(o.file);
    out.setShmId(o.shm_id);
    out.setRemoved(o.removed);
    auto refs = out.initPages(pages.size());
    for (size_t k = 0; k < pages.size(); ++k) {
      refs[k].setAddr(pages[k].first);
      refs[k].setBlock(pages[k].second.block);
      refs[k].setOffset(pages[k].second.offset);
      refs[k].setInBase(pages[k].second.in_base);
    }
  }
  return {};
}

Result<SharedObjectRestorer> SharedObjectRestorer::load(const CheckpointReader& ck) {
  SharedObjectRestorer r;
  r.path_ = ck.path();
  auto corrupt = [&](const std::string& why) { return make_error(ErrorKind::CorruptCheckpoint, "checkpoint " + ck.path() + " is corrupt (" + why + ")"); };
  std::vector<uint8_t> raw, scratch;
  uint32_t have = UINT32_MAX;
  for (auto in : ck.info().getObjects()) {
    Object o;
    o.kind = in.getKind();
    if (o.kind > kEmulatedFile) return corrupt("unknown shared object kind");
    o.file = in.getFile().cStr();
    o.shm_id = in.getShmId();
    o.removed = in.getRemoved();
    if (o.kind == kEmulatedFile && o.file.empty()) return corrupt("an emulated file without a name");
    const char* name = o.kind == kAnon ? kAnonSharedName : o.kind == kShm ? "rr-shm" : "rr-shared-file";
    o.fd = ScopedFd(memfd_create(name, MFD_CLOEXEC));
    if (!o.fd.is_open()) return make_error(std::string("cannot make a memfd for shared memory: ") + errno_text());
    uint64_t size = in.getSize();
    if (size > (1ull << 47)) return corrupt("a shared object larger than an address space");
    if (ftruncate(o.fd.get(), (off_t)size) != 0) return make_error(std::string("cannot size a shared memory copy: ") + errno_text());
    // Pages in block order, so that each block is decompressed once.
    std::vector<ckpt::PageRef::Reader> pages;
    for (auto p : in.getPages()) pages.push_back(p);
    std::stable_sort(pages.begin(), pages.end(), [&](auto a, auto b) { return ck.block_of(a) < ck.block_of(b); });
    for (auto p : pages) {
      if (p.getAddr() % kPageSize || p.getAddr() >= size) return corrupt("a shared page outside its object");
      if (ck.block_of(p) != have) {
        RR_TRY(ck.read_block(ck.block_of(p), raw, scratch));
        have = ck.block_of(p);
      }
      if ((uint64_t)p.getOffset() + kPageSize > raw.size()) return corrupt("page past its block");
      RR_TRY(write_at(o.fd.get(), raw.data() + p.getOffset(), std::min<uint64_t>(kPageSize, size - p.getAddr()), p.getAddr(),
                      "a shared memory copy"));
    }
    r.objects_.push_back(std::move(o));
  }
  return r;
}

Status SharedObjectRestorer::map_into(Task& t, ckpt::ProcessState::Reader proc, const ProcessImage& img) const {
  auto corrupt = [&](const std::string& why) { return make_error(ErrorKind::CorruptCheckpoint, "checkpoint " + path_ + " is corrupt (" + why + ")"); };
  if (proc.getObjectMaps().size() == 0) return {};
  RemoteSyscalls rs(t);
  for (auto om : proc.getObjectMaps()) {
    if (om.getMapping() >= img.mappings.size() || om.getObject() >= objects_.size()) return corrupt("a shared mapping out of range");
    const MappingRecord& m = img.mappings[om.getMapping()];
    const Object& o = objects_[om.getObject()];
    if (m.backing != Backing::Anonymous || (!m.shared && o.kind != kEmulatedFile)) return corrupt("a shared object mapped private");
    std::string path = "/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(o.fd.get());
    // A segment's attachments each have an open file of their own, as the
    // kernel gives them (see replay_shm.cc); other objects are mapped as
    // replay maps them, all from one open file per process.
    int64_t fd;
    if (o.kind == kShm) {
      fd = rs.syscall(SYS_openat, {(uint64_t)AT_FDCWD, rs.scratch_string(path).as_int(),
                                   (uint64_t)((om.getWritable() ? O_RDWR : O_RDONLY) | O_CLOEXEC)});
    } else {
      fd = tracee_file_fd(t, rs, path, O_RDWR);
    }
    if (fd < 0) return make_error("opening shared memory in a restored process failed: " + std::string(strerror((int)-fd)));
    // A private mapping shows the file where the process has not written;
    // its own pages are among the process's and written after this.
    uint64_t flags = (m.shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED | (m.noreserve ? MAP_NORESERVE : 0);
    int64_t got = rs.syscall(SYS_mmap, {m.start.as_int(), m.end - m.start, (uint64_t)m.prot, flags, (uint64_t)fd, m.offset});
    if (o.kind == kShm) rs.syscall(SYS_close, {(uint64_t)fd});
    if (got != (int64_t)m.start.as_int())
      return make_error("mapping shared memory at " + std::to_string(m.start.as_int()) + " in a restored process failed: " +
                        strerror(got < 0 ? (int)-got : EINVAL));
  }
  return {};
}

void SharedObjectRestorer::hand_over(ReplaySession& s) {
  for (Object& o : objects_) {
    if (o.kind == kShm) s.adopt_shm_segment(o.shm_id, std::move(o.fd), o.removed);
    if (o.kind == kEmulatedFile) s.adopt_emulated_file(o.file, std::move(o.fd));
  }
  objects_.clear();
}

}  // namespace rr
