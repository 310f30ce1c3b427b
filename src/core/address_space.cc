#include "core/address_space.h"

#include "core/page_scan.h"

#include <cctype>
#include <cerrno>
#include <cpuid.h>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <linux/prctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <map>
#include <optional>
#include <string_view>

#include "core/remote_syscalls.h"
#include "core/rr_page.h"
#include "core/task.h"
#include "preload/syscall_buffer.h"
#include "util/fatal.h"
#include "util/io.h"
#include "util/scoped_fd.h"

namespace rr {

std::vector<MapEntry> read_maps(pid_t pid) {
  std::vector<MapEntry> out;
  if (!try_read_maps(pid, out)) fatal("cannot read /proc/" + std::to_string(pid) + "/maps: " + errno_text());
  return out;
}

namespace {

// A maps line's fields are read by hand: sscanf was a third of reading
// /proc/PID/maps, which the recorder does at every mmap and exec.
// The number in [p, end) in `base`, or nullopt when there is none (the
// line is not a mapping's: smaps' "Size: ..." lines).
std::optional<unsigned long long> take_number(const char*& p, const char* end, int base) {
  unsigned long long v = 0;
  const char* from = p;
  for (; p < end; ++p) {
    int d;
    if (*p >= '0' && *p <= '9') d = *p - '0';
    else if (base == 16 && *p >= 'a' && *p <= 'f') d = *p - 'a' + 10;
    else if (base == 16 && *p >= 'A' && *p <= 'F') d = *p - 'A' + 10;
    else break;
    v = v * base + d;
  }
  if (p == from) return std::nullopt;
  return v;
}

bool take_char(const char*& p, const char* end, char c) {
  if (p == end || *p != c) return false;
  ++p;
  return true;
}

// "start-end perms offset major:minor inode   name"
bool parse_map_line(std::string_view line, MapEntry& e) {
  const char* p = line.data();
  const char* end = p + line.size();
  auto start = take_number(p, end, 16);
  if (!start || !take_char(p, end, '-')) return false;
  auto stop = take_number(p, end, 16);
  if (!stop || !take_char(p, end, ' ') || end - p < 5 || p[4] != ' ') return false;
  const char* perms = p;
  p += 5;
  auto offset = take_number(p, end, 16);
  if (!offset || !take_char(p, end, ' ')) return false;
  auto dmaj = take_number(p, end, 16);
  if (!dmaj || !take_char(p, end, ':')) return false;
  auto dmin = take_number(p, end, 16);
  if (!dmin || !take_char(p, end, ' ')) return false;
  auto inode = take_number(p, end, 10);
  if (!inode) return false;
  while (p < end && isspace(static_cast<unsigned char>(*p))) ++p;
  e.start = RemotePtr<>(*start);
  e.end = RemotePtr<>(*stop);
  e.offset = *offset;
  e.inode = *inode;
  e.dev = makedev(static_cast<unsigned>(*dmaj), static_cast<unsigned>(*dmin));
  e.prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) | (perms[2] == 'x' ? PROT_EXEC : 0);
  e.shared = perms[3] == 's';
  e.name.assign(p, end);
  return true;
}

// Whether the space-separated flags of a VmFlags line hold `flag`.
bool has_vm_flag(std::string_view flags, std::string_view flag) {
  size_t at = 0;
  while ((at = flags.find(flag, at)) != std::string_view::npos) {
    bool starts = at == 0 || flags[at - 1] == ' ';
    bool ends = at + flag.size() == flags.size() || flags[at + flag.size()] == ' ';
    if (starts && ends) return true;
    at += 1;
  }
  return false;
}

// The lines of /proc/PID/maps, or of smaps, whose other lines ("Rss: ...",
// "VmFlags: ...") follow the line of their mapping.
void parse_map_lines(const std::string& s, std::vector<MapEntry>& out) {
  out.clear();
  std::string_view all(s);
  size_t pos = 0;
  while (pos < all.size()) {
    size_t eol = all.find('\n', pos);
    if (eol == std::string_view::npos) eol = all.size();
    std::string_view line = all.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.substr(0, 8) == "VmFlags:") {
      // Two-letter flags separated by spaces.
      if (!out.empty()) {
        out.back().noreserve = has_vm_flag(line.substr(8), "nr");
        out.back().maywrite = has_vm_flag(line.substr(8), "mw");
        out.back().dontfork = has_vm_flag(line.substr(8), "dc");
        out.back().wipeonfork = has_vm_flag(line.substr(8), "wf");
        out.back().userfaultfd = has_vm_flag(line.substr(8), "um") || has_vm_flag(line.substr(8), "uw") ||
                                 has_vm_flag(line.substr(8), "ui");
      }
      continue;
    }
    if (line.substr(0, 14) == "ProtectionKey:") {
      if (!out.empty()) out.back().pkey = (int)strtol(std::string(line.substr(14)).c_str(), nullptr, 10);
      continue;
    }
    MapEntry e;
    if (parse_map_line(line, e)) out.push_back(std::move(e));
  }
}

}  // namespace

bool try_read_maps(pid_t pid, std::vector<MapEntry>& out) {
  std::string path = "/proc/" + std::to_string(pid) + "/maps";
  auto text = read_file(path);
  out.clear();
  if (!text.ok()) return false;
  parse_map_lines(text.value(), out);
  return true;
}

std::vector<MapEntry> parse_smaps(const std::string& text) {
  std::vector<MapEntry> out;
  parse_map_lines(text, out);
  return out;
}

bool is_anon_shared(const MapEntry& e) {
  if (!e.shared || e.inode == 0) return false;
  return e.name == kAnonSharedMaps || e.name.rfind(std::string("/memfd:") + kAnonSharedName + " ", 0) == 0;
}

bool os_has_pkeys() {
  static const bool has = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 4));
  }();
  return has;
}

std::string prot_string(int prot, bool shared) {
  std::string s = "----";
  if (prot & PROT_READ) s[0] = 'r';
  if (prot & PROT_WRITE) s[1] = 'w';
  if (prot & PROT_EXEC) s[2] = 'x';
  s[3] = shared ? 's' : 'p';
  return s;
}

bool is_special_mapping(const MapEntry& e) {
  if (in_rr_page(e.start, e.end)) return true;
  return e.name == "[vdso]" || e.name == "[vvar]" || e.name == "[vvar_vclock]" || e.name == "[vsyscall]";
}

bool is_zero_page(const void* page) {
  static const char zeros[kPageSize] = {};
  return memcmp(page, zeros, kPageSize) == 0;
}

MappingRecord mapping_record(const MapEntry& e) {
  MappingRecord m;
  m.start = e.start;
  m.end = e.end;
  m.prot = e.prot;
  m.shared = e.shared;
  m.offset = e.offset;
  m.name = e.name;
  m.grows_down = e.name == "[stack]";
  m.noreserve = e.noreserve;
  m.pkey = e.pkey;
  m.backing = is_special_mapping(e) ? Backing::Special : Backing::Anonymous;
  return m;
}

namespace {

bool is_file_backed(const MapEntry& e) {
  if (e.inode == 0 || e.name.empty() || e.name[0] != '/') return false;
  // Shared anonymous memory shows up as a deleted /dev/zero; System V shm as /SYSV...
  if (e.name.rfind("/dev/zero", 0) == 0 || e.name.rfind("/SYSV", 0) == 0) return false;
  return true;
}

// Reads /proc/PID/stat fields (1-based numbering as in proc(5)).
std::vector<uint64_t> read_stat_fields(pid_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text.ok()) fatal(text.error().message);
  const std::string& s = text.value();
  size_t close = s.rfind(')');
  std::vector<uint64_t> fields = {0, 0, 0};  // 1: pid, 2: comm, 3: state (placeholders)
  size_t pos = close + 2;
  // field 3 (state) is a letter
  pos = s.find(' ', pos) + 1;
  while (pos < s.size()) {
    size_t sp = s.find(' ', pos);
    if (sp == std::string::npos) sp = s.size();
    fields.push_back(strtoull(s.substr(pos, sp - pos).c_str(), nullptr, 10));
    pos = sp + 1;
  }
  return fields;  // fields[n-1] is field n
}

}  // namespace

MmRecord capture_mm(Task& task, RemoteSyscalls& remote) {
  return capture_mm(task, static_cast<uint64_t>(remote.syscall(SYS_brk, {0})));
}

MmRecord capture_mm(Task& task, uint64_t brk) {
  MmRecord mm;
  std::vector<uint64_t> f = read_stat_fields(task.tid());
  auto field = [&](size_t n) { return n <= f.size() ? f[n - 1] : 0; };
  mm.start_code = RemotePtr<>(field(26));
  mm.end_code = RemotePtr<>(field(27));
  mm.start_stack = RemotePtr<>(field(28));
  mm.start_data = RemotePtr<>(field(45));
  mm.end_data = RemotePtr<>(field(46));
  mm.start_brk = RemotePtr<>(field(47));
  mm.arg_start = RemotePtr<>(field(48));
  mm.arg_end = RemotePtr<>(field(49));
  mm.env_start = RemotePtr<>(field(50));
  mm.env_end = RemotePtr<>(field(51));
  mm.brk = RemotePtr<>(brk);
  auto auxv = read_file("/proc/" + std::to_string(task.tid()) + "/auxv");
  if (auxv.ok()) mm.auxv = auxv.value();
  return mm;
}

namespace {

void ask_layout(RemoteSyscalls& remote, LayoutByCalls& out) {
  out.brk = static_cast<uint64_t>(remote.syscall(SYS_brk, {0}));
  uint64_t ldt_probe = 0;
  out.has_ldt = remote.syscall(SYS_modify_ldt, {0, remote.scratch(&ldt_probe, sizeof ldt_probe).as_int(),
                                                sizeof ldt_probe}) > 0;
  if (!os_has_pkeys()) return;
  std::vector<int64_t> taken;
  int64_t got = 0;
  while (taken.size() < 16 && (got = remote.syscall(SYS_pkey_alloc, {0, 0})) >= 0) taken.push_back(got);
  for (int64_t key : taken) remote.syscall(SYS_pkey_free, {(uint64_t)key});
  // Only "no key left" says the rest are held; any other refusal (a
  // seccomp filter's, say) says nothing about them.
  if (got != -ENOSPC) {
    out.pkeys_unknown = std::string("pkey_alloc: ") + strerror(got < 0 ? (int)-got : EINVAL);
    return;
  }
  out.pkeys = 0xfffe;
  for (int64_t key : taken)
    if (key > 0 && key < 16) out.pkeys &= (uint16_t)~(1u << key);
}

}  // namespace

LayoutByCalls probe_layout_by_calls(Task& task, RemoteSyscalls& remote) {
  LayoutByCalls out;
  // pkey_alloc also grants access through the keys it hands out (PKRU),
  // which pkey_free does not take back.
  std::string xsave = task.xsave();
  try {
    ask_layout(remote, out);
  } catch (...) {
    task.try_set_xsave(xsave);
    throw;
  }
  task.set_xsave(xsave);
  return out;
}

std::string map_file_path(const std::string& proc, const MapEntry& e) {
  char range[64];
  snprintf(range, sizeof(range), "/map_files/%" PRIx64 "-%" PRIx64, e.start.as_int(), e.end.as_int());
  std::string path = proc + range;
  static const bool map_files_open = [&]() {
    ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    return fd.is_open() || errno != EPERM;
  }();
  if (map_files_open || e.name.empty() || e.name[0] != '/') return path;
  struct stat st;
  if (stat(e.name.c_str(), &st) == 0 && st.st_ino == e.inode) return e.name;
  return path;  // opening it fails and names the file
}


ProcessImage capture_image(Task& task, RemoteSyscalls& remote, const StoreFile& store_file, const std::string& trace_dir) {
  ProcessImage img;
  PageScanner scanner(task, trace_dir);
  pid_t pid = task.tid();
  std::string proc = "/proc/" + std::to_string(pid);
  for (const MapEntry& e : read_maps(pid)) {
    MappingRecord m = mapping_record(e);
    if (m.backing != Backing::Special && is_file_backed(e)) {
      m.backing = Backing::File;
      auto stored = store_file(map_file_path(proc, e), e.name);
      if (!stored.ok()) fatal(stored.error().message);
      m.file = stored.value();
    }
    // Only what a rebuilt mapping would not hold already.
    if (m.backing != Backing::Special)
      scanner.scan(m, [&](RemotePtr<> addr, size_t pages, PageKind kind, const uint8_t* bytes) {
        if (kind != PageKind::Data) return;
        for (size_t p = 0; p < pages; ++p)
          img.pages.push_back(PageRecord{addr + p * kPageSize, std::string((const char*)bytes + p * kPageSize, kPageSize)});
      });
    img.mappings.push_back(std::move(m));
  }
  img.mm = capture_mm(task, remote);
  char exe[4096];
  ssize_t n = readlink((proc + "/exe").c_str(), exe, sizeof(exe) - 1);
  img.exe_path = n > 0 ? std::string(exe, n) : "";
  auto stored = store_file(proc + "/exe", img.exe_path);
  if (!stored.ok()) fatal(stored.error().message);
  img.mm.exe_file = stored.value();
  img.xsave = task.xsave();
  return img;
}

namespace {

// Moves the kernel's special mappings to where the image has them.
void place_special_mappings(Task& task, RemoteSyscalls& rs, const ProcessImage& image) {
  std::vector<MapEntry> current = read_maps(task.tid());
  struct Move {
    MapEntry from;
    RemotePtr<> to;
  };
  std::vector<Move> moves;
  for (const MappingRecord& m : image.mappings) {
    if (m.backing != Backing::Special || in_rr_page(m.start, m.end) || m.name == "[vsyscall]") continue;
    const MapEntry* found = nullptr;
    for (const MapEntry& e : current)
      if (e.name == m.name) found = &e;
    if (!found || found->end - found->start != m.end - m.start)
      fatal("this kernel's " + m.name + " differs from the recording's; replay on the recording kernel");
    if (found->start != m.start) moves.push_back({*found, m.start});
  }
  // Two steps, through a free area, so that a target overlapping another
  // special mapping's current place is never a problem.
  const uint64_t parking = 0x6f0000000000ull;
  uint64_t park = parking;
  for (Move& mv : moves) {
    uint64_t len = mv.from.end - mv.from.start;
    rs.checked("parking a kernel mapping", SYS_mremap, {mv.from.start.as_int(), len, len, MREMAP_MAYMOVE | MREMAP_FIXED, park});
    mv.from.end = RemotePtr<>(park + len);
    mv.from.start = RemotePtr<>(park);
    park += page_ceil(len) + kPageSize;
  }
  for (Move& mv : moves) {
    uint64_t len = mv.from.end - mv.from.start;
    rs.checked("moving a kernel mapping", SYS_mremap,
               {mv.from.start.as_int(), len, len, MREMAP_MAYMOVE | MREMAP_FIXED, mv.to.as_int()});
  }
}

void write_pages(Task& task, const std::vector<PageRecord>& pages) {
  // Adjacent pages go in one write.
  size_t i = 0;
  std::string run;
  while (i < pages.size()) {
    size_t j = i + 1;
    while (j < pages.size() && pages[j].addr == pages[j - 1].addr + kPageSize) ++j;
    if (j == i + 1) {
      task.write_mem(pages[i].addr, pages[i].data.data(), pages[i].data.size());
    } else {
      run.clear();
      for (size_t k = i; k < j; ++k) run += pages[k].data;
      task.write_mem(pages[i].addr, run.data(), run.size());
    }
    i = j;
  }
}

}  // namespace

void restore_image(Task& task, const ProcessImage& image, const std::string& trace_dir) {
  for (const MappingRecord& m : image.mappings)
    if (m.backing == Backing::File && !path_exists(trace_dir + "/" + m.file))
      fatal("the trace is incomplete: " + m.file + " is missing from " + trace_dir);
  if (!path_exists(trace_dir + "/" + image.mm.exe_file))
    fatal("the trace is incomplete: " + image.mm.exe_file + " is missing from " + trace_dir);
  {
    RemoteSyscalls rs(task);
    // Everything but the special mappings goes, one run of neighbouring
    // mappings at a time (the gaps inside a run are unmapped already): a
    // fresh process (a fork of rr) has a hundred mappings, and each remote
    // syscall is a round trip through ptrace.
    std::optional<std::pair<RemotePtr<>, RemotePtr<>>> run;
    auto unmap_run = [&] {
      if (run) rs.checked("unmapping", SYS_munmap, {run->first.as_int(), run->second - run->first});
      run.reset();
    };
    for (const MapEntry& e : read_maps(task.tid())) {
      if (is_special_mapping(e)) {
        unmap_run();
        continue;
      }
      if (run)
        run->second = e.end;
      else
        run = std::make_pair(e.start, e.end);
    }
    unmap_run();
    // Tell the kernel where code, data, heap, stack, arguments and the
    // executable are, as it knew them in the recording. This comes while
    // nothing is mapped: the kernel refuses to switch the executable while
    // the old one is mapped, and the new image may map the very same file.
    RemotePtr<> exe_path = rs.scratch_string(trace_dir + "/" + image.mm.exe_file);
    int64_t exe_fd = rs.checked("opening the executable", SYS_openat, {(uint64_t)AT_FDCWD, exe_path.as_int(), O_RDONLY | O_CLOEXEC});
    struct prctl_mm_map map = {};
    map.start_code = image.mm.start_code.as_int();
    map.end_code = image.mm.end_code.as_int();
    map.start_data = image.mm.start_data.as_int();
    map.end_data = image.mm.end_data.as_int();
    map.start_brk = image.mm.start_brk.as_int();
    map.brk = image.mm.brk.as_int();
    map.start_stack = image.mm.start_stack.as_int();
    map.arg_start = image.mm.arg_start.as_int();
    map.arg_end = image.mm.arg_end.as_int();
    map.env_start = image.mm.env_start.as_int();
    map.env_end = image.mm.env_end.as_int();
    map.exe_fd = (uint32_t)exe_fd;
    map.auxv_size = image.mm.auxv.size();
    RemotePtr<> auxv = rs.scratch(image.mm.auxv.data(), image.mm.auxv.size(), 2048);
    map.auxv = reinterpret_cast<__u64*>(auxv.as_int());
    RemotePtr<> mapp = rs.scratch(&map, sizeof(map), 1024);
    rs.checked("setting the process layout (PR_SET_MM_MAP)", SYS_prctl,
               {PR_SET_MM, PR_SET_MM_MAP, mapp.as_int(), sizeof(map), 0});
    rs.syscall(SYS_close, {(uint64_t)exe_fd});
    place_special_mappings(task, rs, image);
    // A file mapped several times (code, data, relro...) is looked for or
    // opened in the tracee once. The mappings are then made in one batch.
    std::map<std::string, int64_t> fd_of;
    TraceeFds fds(task.tid());
    std::vector<RemoteSyscalls::Call> maps;
    std::vector<const MappingRecord*> mapped;
    for (const MappingRecord& m : image.mappings) {
      if (m.backing == Backing::Special) continue;
      uint64_t len = m.end - m.start;
      if (m.backing == Backing::File) {
        auto known = fd_of.find(m.file);
        int64_t fd = known != fd_of.end() ? known->second : fds.file_fd(rs, trace_dir + "/" + m.file, O_RDONLY);
        if (fd < 0) fatal("opening " + m.file + " in the tracee failed: " + strerror((int)-fd));
        fd_of[m.file] = fd;
        maps.push_back({SYS_mmap, {m.start.as_int(), len, (uint64_t)m.prot,
                                   (uint64_t)(MAP_PRIVATE | MAP_FIXED | (m.noreserve ? MAP_NORESERVE : 0)), (uint64_t)fd, m.offset}});
      } else {
        uint64_t flags = (m.shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | MAP_FIXED;
        if (m.grows_down) flags |= MAP_GROWSDOWN;
        if (m.noreserve) flags |= MAP_NORESERVE;
        maps.push_back({SYS_mmap, {m.start.as_int(), len, (uint64_t)m.prot, flags, (uint64_t)-1, 0}});
      }
      mapped.push_back(&m);
    }
    std::vector<int64_t> got = rs.batch(maps);
    if (!got.empty() && RemoteSyscalls::failed(got.back())) {
      const MappingRecord& m = *mapped[got.size() - 1];
      fatal("in the tracee, " + (m.backing == Backing::File ? "mapping " + m.file : std::string("mapping anonymous memory")) +
            " (mmap) failed: " + strerror((int)-got.back()));
    }
    if (got.size() != maps.size()) fatal("in the tracee, rebuilding the mappings stopped after " + std::to_string(got.size()) + " of " + std::to_string(maps.size()));
    write_pages(task, image.pages);

  }
  // An image recorded with the syscall buffer: the rr page gets the
  // buffer's replay entry, which makes no syscall (docs/syscall-buffer.md).
  for (const MappingRecord& m : image.mappings)
    if (m.start == RemotePtr<>(RR_BUFFER_ADDR)) {
      task.write_mem(RemotePtr<>(RR_BUFFERED_ENTRY), kRrBufferedEntryReplay, sizeof(kRrBufferedEntryReplay));
      const uint8_t road = RR_ROAD_REPLAY;
      task.write_mem(RemotePtr<>(RR_ROAD_FLAG_ADDR), &road, sizeof road);
      // No records until the replayer feeds an event's (an exec's image
      // holds the recorder's capacity here).
      const uint32_t none = 0;
      task.write_mem(RemotePtr<>(RR_BUFFER_ADDR + offsetof(rr_buffer_header, available)), &none, sizeof none);
    }
  task.set_xsave(image.xsave);
  task.set_regs(image.regs);
}

TraceeFds::TraceeFds(pid_t tid) : dir_("/proc/" + std::to_string(tid) + "/fd/") {
  DIR* d = opendir(dir_.c_str());
  if (!d) return;
  while (dirent* ent = readdir(d)) {
    if (ent->d_name[0] == '.') continue;
    struct stat got;
    if (stat((dir_ + ent->d_name).c_str(), &got) == 0) fds_.push_back({got.st_dev, got.st_ino, atoi(ent->d_name), -1});
  }
  closedir(d);
}

int64_t TraceeFds::file_fd(RemoteSyscalls& rs, const std::string& path, int flags) {
  struct stat want;
  if (stat(path.c_str(), &want) != 0) return -errno;
  bool write = (flags & O_ACCMODE) == O_RDWR;
  // In replay the process's descriptors are all rr's (the program's opens
  // are emulated): one of the same file, open for what is asked, is the one.
  for (Open& o : fds_) {
    if (o.dev != want.st_dev || o.ino != want.st_ino) continue;
    // The link's own mode shows the descriptor's access mode.
    struct stat mode;
    if (o.mode < 0) o.mode = lstat((dir_ + std::to_string(o.fd)).c_str(), &mode) == 0 ? (int)mode.st_mode : 0;
    if ((o.mode & S_IRUSR) && (!write || (o.mode & S_IWUSR))) return o.fd;
  }
  RemotePtr<> at = rs.scratch_string(path);
  int64_t fd = rs.syscall(SYS_openat, {(uint64_t)AT_FDCWD, at.as_int(), (uint64_t)(flags | O_CLOEXEC)});
  if (fd >= 0) fds_.push_back({want.st_dev, want.st_ino, (int)fd, (int)(S_IRUSR | (write ? S_IWUSR : 0))});
  return fd;
}

int64_t tracee_file_fd(Task& task, RemoteSyscalls& rs, const std::string& path, int flags) {
  return TraceeFds(task.tid()).file_fd(rs, path, flags);
}

}  // namespace rr
