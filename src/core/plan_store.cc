#include "core/plan_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "util/cache_dir.h"
#include "util/fatal.h"
#include "util/io.h"
#include "util/scoped_fd.h"

namespace rr {

namespace {

// The first 8 bytes of a plan's file; the number changes with the layout.
constexpr char kMagic[8] = {'r', 'r', 'p', 'l', 'a', 'n', 's', 1};
// magic, key (16 bytes), payload size, payload XXH3-64.
constexpr size_t kHeaderSize = 8 + 16 + 8 + 8;
// The first 8 bytes of a file of code facts (same header, its own payload).
constexpr char kFactsMagic[8] = {'r', 'r', 'f', 'a', 'c', 't', 's', 1};

// This build of the recorder: plans made by another build (another
// planner) are other keys. Its executable's identity, not its bytes: a
// stat instead of reading 20 MB at every recording.
const std::string& build_identity() {
  static const std::string id = [] {
    struct stat st;
    if (stat("/proc/self/exe", &st) != 0) return std::string("unknown");
    char buf[128];
    snprintf(buf, sizeof buf, "%llx:%llx:%llx:%lld.%09ld", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino, (unsigned long long)st.st_size, (long long)st.st_mtim.tv_sec,
             st.st_mtim.tv_nsec);
    return std::string(buf);
  }();
  return id;
}

void put_u64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }
void put_u32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
void put_bytes(std::string& out, std::string_view s) {
  put_u64(out, s.size());
  out += s;
}

// Reads what put_* wrote; every read is checked against the end.
class Cursor {
 public:
  // With `keep`, the bytes and patches read are views of `s`, which `keep`
  // keeps alive; without, copies.
  explicit Cursor(std::string_view s, std::shared_ptr<const void> keep = nullptr)
      : p_(s.data()), end_(s.data() + s.size()), keep_(std::move(keep)) {}
  bool u64(uint64_t& v) { return raw(&v, 8); }
  bool u32(uint32_t& v) { return raw(&v, 4); }
  bool bytes(SharedBytes& s) {
    uint64_t n;
    if (!u64(n) || n > (uint64_t)(end_ - p_)) return false;
    s = SharedBytes(keep_, std::string_view(p_, n));
    p_ += n;
    return true;
  }
  // A count of items of at least `item` bytes each that can still be there.
  bool count(uint64_t& n, size_t item) { return u64(n) && n <= (uint64_t)(end_ - p_) / item; }
  bool at_end() const { return p_ == end_; }
  std::optional<PatchList> patches(uint64_t n) { return PatchList::parse(&p_, end_, n, keep_); }

 private:
  bool raw(void* v, size_t n) {
    if ((size_t)(end_ - p_) < n) return false;
    memcpy(v, p_, n);
    p_ += n;
    return true;
  }
  const char* p_;
  const char* end_;
  std::shared_ptr<const void> keep_;
};

}  // namespace

std::string PlanKey::hex() const {
  char buf[40];
  snprintf(buf, sizeof buf, "%016llx%016llx", (unsigned long long)high, (unsigned long long)low);
  return buf;
}

PlanKey plan_key(const std::string& code, uint64_t code_addr, const std::vector<AddrRange>& functions,
                 bool nops_are_padding) {
  std::string head = build_identity();
  head.push_back('\0');
  put_u64(head, code_addr);
  put_u64(head, nops_are_padding);
  put_u64(head, functions.size());
  for (const AddrRange& f : functions) {
    put_u64(head, f.start);
    put_u64(head, f.end);
  }
  put_u64(head, code.size());
  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  XXH3_128bits_update(state, head.data(), head.size());
  XXH3_128bits_update(state, code.data(), code.size());
  XXH128_hash_t h = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  return {h.low64, h.high64};
}

std::string serialize_plan(const RewritePlan& plan) {
  std::string out;
  for (uint64_t v : {plan.stub_base, (uint64_t)plan.counted, (uint64_t)plan.lean_stubs, (uint64_t)plan.uncovered,
                     (uint64_t)plan.out_of_reach, (uint64_t)plan.moved, (uint64_t)plan.blocks_at})
    put_u64(out, v);
  put_bytes(out, plan.stubs.view());
  put_u64(out, plan.patches.size());
  out += plan.patches.raw();
  put_u64(out, plan.outward.size());
  for (uint32_t v : plan.outward) put_u32(out, v);
  for (const std::vector<uint64_t>* sites : {&plan.spin_sites, &plan.poll_sites}) {
    put_u64(out, sites->size());
    for (uint64_t v : *sites) put_u64(out, v);
  }
  return out;
}

std::optional<RewritePlan> parse_plan(std::string_view bytes, std::shared_ptr<const void> keep) {
  Cursor c(bytes, std::move(keep));
  RewritePlan plan;
  uint64_t counted, lean, uncovered, out_of_reach, moved, blocks_at, n;
  if (!c.u64(plan.stub_base) || !c.u64(counted) || !c.u64(lean) || !c.u64(uncovered) || !c.u64(out_of_reach) ||
      !c.u64(moved) || !c.u64(blocks_at) || !c.bytes(plan.stubs))
    return std::nullopt;
  plan.counted = counted;
  plan.lean_stubs = lean;
  plan.uncovered = uncovered;
  plan.out_of_reach = out_of_reach;
  plan.moved = moved;
  plan.blocks_at = blocks_at;
  if (!c.count(n, 16)) return std::nullopt;
  std::optional<PatchList> patches = c.patches(n);
  if (!patches) return std::nullopt;
  plan.patches = std::move(*patches);
  if (!c.count(n, 4)) return std::nullopt;
  plan.outward.resize(n);
  for (uint32_t& v : plan.outward)
    if (!c.u32(v)) return std::nullopt;
  for (std::vector<uint64_t>* sites : {&plan.spin_sites, &plan.poll_sites}) {
    if (!c.count(n, 8)) return std::nullopt;
    sites->resize(n);
    for (uint64_t& v : *sites)
      if (!c.u64(v)) return std::nullopt;
  }
  if (!c.at_end()) return std::nullopt;
  return plan;
}

std::string serialize_code_facts(const CodeFacts& f) {
  std::string out;
  for (uint64_t v : {f.text.addr, f.text.offset, f.text.size, (uint64_t)f.go, (uint64_t)f.functions.size()})
    put_u64(out, v);
  for (const AddrRange& r : f.functions) {
    put_u64(out, r.start);
    put_u64(out, r.end);
  }
  put_u64(out, f.random_sites.size());
  for (uint64_t v : f.random_sites) put_u64(out, v);
  return out;
}

std::optional<CodeFacts> parse_code_facts(std::string_view bytes) {
  Cursor c(bytes);
  CodeFacts f;
  uint64_t go, n;
  if (!c.u64(f.text.addr) || !c.u64(f.text.offset) || !c.u64(f.text.size) || !c.u64(go) || go > 1 ||
      !c.count(n, 16))
    return std::nullopt;
  f.go = go;
  f.functions.resize(n);
  for (AddrRange& r : f.functions)
    if (!c.u64(r.start) || !c.u64(r.end)) return std::nullopt;
  if (!c.count(n, 8)) return std::nullopt;
  f.random_sites.resize(n);
  for (uint64_t& v : f.random_sites)
    if (!c.u64(v)) return std::nullopt;
  if (!c.at_end()) return std::nullopt;
  return f;
}

namespace {

// The kernel's cachestat(2) (Linux 6.5), which glibc 2.36 does not wrap.
constexpr long kSysCachestat = 451;
struct CachestatRange {
  uint64_t off, len;  // len 0: to the end of the file
};
struct Cachestat {
  uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

}  // namespace

bool settled_file(int fd, const struct stat& st, int64_t seconds) {
  if (!S_ISREG(st.st_mode)) return false;
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  auto ns = [](const timespec& t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; };
  if (ns(now) - std::max(ns(st.st_mtim), ns(st.st_ctim)) < seconds * 1000000000) return false;
  CachestatRange range{0, 0};
  Cachestat cs{};
  if (syscall(kSysCachestat, fd, &range, &cs, 0) != 0) return false;
  return cs.nr_dirty == 0 && cs.nr_writeback == 0;
}

bool same_identity(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

PlanKey plan_key_of_file(const PlanKey& file, uint64_t code_addr, uint64_t code_size,
                         const std::vector<AddrRange>& functions, bool nops_are_padding) {
  std::string in = "code of a settled file";
  in.push_back('\0');
  for (uint64_t v : {file.low, file.high, code_addr, code_size, (uint64_t)nops_are_padding, (uint64_t)functions.size()})
    put_u64(in, v);
  for (const AddrRange& f : functions) {
    put_u64(in, f.start);
    put_u64(in, f.end);
  }
  XXH128_hash_t h = XXH3_128bits(in.data(), in.size());
  return {h.low64, h.high64};
}

PlanKey code_facts_key(const struct stat& st, const std::string& build_id) {
  std::string in = "code facts";
  in.push_back('\0');
  in += build_identity();
  in.push_back('\0');
  put_bytes(in, build_id);
  for (uint64_t v : {(uint64_t)st.st_dev, (uint64_t)st.st_ino, (uint64_t)st.st_size, (uint64_t)st.st_mtim.tv_sec,
                     (uint64_t)st.st_mtim.tv_nsec, (uint64_t)st.st_ctim.tv_sec, (uint64_t)st.st_ctim.tv_nsec})
    put_u64(in, v);
  XXH128_hash_t h = XXH3_128bits(in.data(), in.size());
  return {h.low64, h.high64};
}

std::string PlanStore::default_dir() {
  if (const char* own = getenv("RR_PLAN_CACHE")) return strcmp(own, "off") == 0 ? std::string() : std::string(own);
  if (const char* xdg = getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/rr/plans";
  if (const char* home = getenv("HOME"); home && *home) return std::string(home) + "/.cache/rr/plans";
  return {};
}

PlanKey placed_plan_key(const PlanKey& near, uint64_t stub_base) {
  std::string in = "placed";
  put_u64(in, near.low);
  put_u64(in, near.high);
  put_u64(in, stub_base);
  XXH128_hash_t h = XXH3_128bits(in.data(), in.size());
  return {h.low64, h.high64};
}

std::string plan_file_bytes(const PlanKey& key, const std::string& payload) {
  std::string file(kMagic, 8);
  put_u64(file, key.low);
  put_u64(file, key.high);
  put_u64(file, payload.size());
  put_u64(file, XXH3_64bits(payload.data(), payload.size()));
  file += payload;
  return file;
}

std::optional<RewritePlan> parse_plan_file(std::string_view f, PlanKey* key, std::string* why,
                                           std::shared_ptr<const void> keep) {
  if (f.size() < kHeaderSize || memcmp(f.data(), kMagic, 8) != 0) {
    *why = "not a plan of this format";
    return std::nullopt;
  }
  uint64_t size, sum;
  memcpy(&key->low, f.data() + 8, 8);
  memcpy(&key->high, f.data() + 16, 8);
  memcpy(&size, f.data() + 24, 8);
  memcpy(&sum, f.data() + 32, 8);
  if (size != f.size() - kHeaderSize || XXH3_64bits(f.data() + kHeaderSize, size) != sum) {
    *why = "its contents do not match their sum";
    return std::nullopt;
  }
  std::optional<RewritePlan> plan = parse_plan(f.substr(kHeaderSize), std::move(keep));
  if (!plan) *why = "its contents are not a plan";
  return plan;
}

std::optional<RewritePlan> PlanStore::load(const PlanKey& key, StoredPlanFile* file) const {
  if (dir_.empty()) return std::nullopt;
  std::string path = dir_ + "/" + key.hex();
  if (!path_exists(path)) return std::nullopt;
  // Mapped, and the plan a view of it: the store's files are replaced by a
  // rename, never changed in place.
  Result<std::shared_ptr<const MappedFile>> mapped = MappedFile::open(path);
  auto bad = [&](const std::string& why) -> std::optional<RewritePlan> {
    RR_LOG("progress counter: the stored plan %s is not used: %s", path.c_str(), why.c_str());
    return std::nullopt;
  };
  if (!mapped.ok()) return bad(mapped.error().message);
  std::string_view bytes = mapped.value()->view();
  PlanKey stored;
  std::string why;
  std::optional<RewritePlan> plan = parse_plan_file(bytes, &stored, &why, mapped.value());
  if (!plan) return bad(why);
  if (!(stored == key)) return bad("another key");
  utimensat(AT_FDCWD, path.c_str(), nullptr, 0);  // used now
  if (file) *file = {path, key.hex(), bytes.size(), XXH3_64bits(bytes.data(), bytes.size())};
  return plan;
}

std::optional<uint64_t> PlanStore::stub_bytes(const PlanKey& key) const {
  if (dir_.empty()) return std::nullopt;
  ScopedFd fd(::open((dir_ + "/" + key.hex()).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.is_open()) return std::nullopt;
  // The header, then the payload's seven numbers and the stubs' length.
  char head[kHeaderSize + 8 * 8];
  if (pread(fd.get(), head, sizeof head, 0) != (ssize_t)sizeof head || memcmp(head, kMagic, 8) != 0) return std::nullopt;
  PlanKey stored;
  memcpy(&stored.low, head + 8, 8);
  memcpy(&stored.high, head + 16, 8);
  if (!(stored == key)) return std::nullopt;
  uint64_t n;
  memcpy(&n, head + kHeaderSize + 7 * 8, 8);
  return n;
}

std::optional<StoredPlanFile> PlanStore::store(const PlanKey& key, const RewritePlan& plan) const {
  if (dir_.empty()) return std::nullopt;
  if (Status st = make_dirs(dir_); !st.ok()) {
    RR_LOG("progress counter: plans are not stored: %s", st.error().message.c_str());
    return std::nullopt;
  }
  std::string file = plan_file_bytes(key, serialize_plan(plan));
  std::optional<std::string> path = write(key, file);
  if (!path) return std::nullopt;
  return StoredPlanFile{*path, key.hex(), file.size(), XXH3_64bits(file.data(), file.size())};
}

std::optional<std::string> PlanStore::write(const PlanKey& key, const std::string& file) const {
  // No fsync: a file cut short by a crash fails its sum and is made again.
  std::string path = dir_ + "/" + key.hex();
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  ScopedFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  Status st = fd.is_open() ? write_all(fd.get(), file.data(), file.size(), tmp)
                           : make_error("cannot create " + tmp + ": " + errno_text());
  fd.reset();
  if (st.ok() && rename(tmp.c_str(), path.c_str()) != 0)
    st = make_error("cannot rename " + tmp + " to " + path + ": " + errno_text());
  if (!st.ok()) {
    unlink(tmp.c_str());
    RR_LOG("progress counter: a file of the plan store is not written: %s", st.error().message.c_str());
    return std::nullopt;
  }
  trim(key.hex(), file.size());
  return path;
}

std::optional<CodeFacts> PlanStore::load_facts(const PlanKey& key) const {
  if (dir_.empty()) return std::nullopt;
  std::string path = dir_ + "/" + key.hex();
  if (!path_exists(path)) return std::nullopt;
  Result<std::string> bytes = read_file(path);
  if (!bytes.ok()) return std::nullopt;
  const std::string& f = bytes.value();
  uint64_t size = 0, sum = 0;
  PlanKey stored;
  if (f.size() >= kHeaderSize) {
    memcpy(&stored.low, f.data() + 8, 8);
    memcpy(&stored.high, f.data() + 16, 8);
    memcpy(&size, f.data() + 24, 8);
    memcpy(&sum, f.data() + 32, 8);
  }
  std::optional<CodeFacts> facts;
  if (f.size() >= kHeaderSize && memcmp(f.data(), kFactsMagic, 8) == 0 && stored == key &&
      size == f.size() - kHeaderSize && XXH3_64bits(f.data() + kHeaderSize, size) == sum)
    facts = parse_code_facts(std::string_view(f).substr(kHeaderSize));
  if (!facts) {
    RR_LOG("progress counter: the stored code facts %s are not read: they do not check", path.c_str());
    return std::nullopt;
  }
  utimensat(AT_FDCWD, path.c_str(), nullptr, 0);  // used now
  return facts;
}

void PlanStore::store_facts(const PlanKey& key, const CodeFacts& facts) const {
  if (dir_.empty()) return;
  if (Status s = make_dirs(dir_); !s.ok()) {
    RR_LOG("progress counter: code facts are not stored: %s", s.error().message.c_str());
    return;
  }
  std::string payload = serialize_code_facts(facts);
  std::string file = plan_file_bytes(key, payload);
  memcpy(file.data(), kFactsMagic, 8);
  write(key, file);
}

void PlanStore::trim(const std::string& keep, uint64_t written) const {
  if (known_) {
    ++known_->files;  // (a file written over another counts twice: a read comes sooner)
    known_->bytes += written;
    if (known_->files <= max_files_ && known_->bytes <= max_bytes_) return;
  }
  known_ = trim_cache_dir(
      dir_, keep, max_files_, max_bytes_,
      [](const std::string&, const struct stat& st) {
        return CacheEntryUse{(int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec, (uint64_t)st.st_size};
      },
      [&](const std::string& name) { unlink((dir_ + "/" + name).c_str()); });
}

}  // namespace rr
