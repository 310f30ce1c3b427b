#include "core/code_image.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "core/elf_code.h"
#include "util/cache_dir.h"
#include "util/fatal.h"
#include "util/io.h"
#include "util/scoped_fd.h"

namespace rr {

namespace {

// The last bytes of an image's file; the magic changes with the layout.
struct Trailer {
  char magic[8];
  uint64_t key_low, key_high;
  uint64_t offset, length;  // the mapping's part of the file (the patched bytes)
  uint64_t size;            // the bytes before the trailer
  uint64_t sum;             // their XXH3-64
};
constexpr char kMagic[8] = {'r', 'r', 'c', 'i', 'm', 'g', 'e', 2};

void put_u64(std::string& s, uint64_t v) { s.append(reinterpret_cast<const char*>(&v), sizeof v); }

// The XXH3-64 of an image's `size` bytes before its trailer `t`, and of
// its whole file (the bytes, then `t`: the trace's sums line), in one pass.
// Writing an image (`set`), t.sum becomes the first before `t` is summed.
std::pair<uint64_t, uint64_t> sums_of(const void* data, size_t size, Trailer& t, bool set) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  XXH3_64bits_update(state, data, size);
  uint64_t start = XXH3_64bits_digest(state);
  if (set) t.sum = start;
  XXH3_64bits_update(state, &t, sizeof t);
  uint64_t whole = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return {start, whole};
}

// The checks of code_image_checks; the whole file's sum and size in
// `whole` when `whole` is given.
bool checks(const std::string& path, const std::string& name, uint64_t offset, uint64_t length,
            std::pair<uint64_t, uint64_t>* whole) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st;
  Trailer t;
  if (!fd.is_open() || fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < sizeof t ||
      pread(fd.get(), &t, sizeof t, (off_t)(st.st_size - sizeof t)) != (ssize_t)sizeof t)
    return false;
  if (memcmp(t.magic, kMagic, sizeof kMagic) != 0 || PlanKey{t.key_low, t.key_high}.hex() != name ||
      t.offset != offset || t.length != length || t.size != (uint64_t)st.st_size - sizeof t || offset > t.size ||
      length > t.size - offset)
    return false;
  if (!whole) return true;
  Result<std::shared_ptr<const MappedFile>> file = MappedFile::of(fd.get(), path);
  if (!file.ok() || file.value()->view().size() != (uint64_t)st.st_size) return false;
  std::string_view bytes = file.value()->view();
  std::pair<uint64_t, uint64_t> sums = sums_of(bytes.data(), t.size, t, false);
  if (sums.first != t.sum) return false;
  *whole = {sums.second, (uint64_t)st.st_size};
  return true;
}

}  // namespace

PlanKey code_image_key(const PlanKey& settled, const std::string& plan_name, const MapEntry& m) {
  std::string in = "code image";
  in.push_back('\0');
  put_u64(in, settled.low);
  put_u64(in, settled.high);
  in += plan_name;
  in.push_back('\0');
  put_u64(in, m.start.as_int());
  put_u64(in, m.end.as_int() - m.start.as_int());
  put_u64(in, m.offset);
  XXH128_hash_t h = XXH3_128bits(in.data(), in.size());
  return {h.low64, h.high64};
}

PlanKey stubs_image_key(const std::string& plan_name, const RewritePlan& plan) {
  std::string in = "stubs image";
  in.push_back('\0');
  in += plan_name;
  in.push_back('\0');
  put_u64(in, plan.stub_base);
  put_u64(in, plan.stubs.size());
  XXH128_hash_t h = XXH3_128bits(in.data(), in.size());
  return {h.low64, h.high64};
}

bool code_image_checks(const std::string& path, const std::string& name, uint64_t offset, uint64_t length,
                       bool with_sum) {
  std::pair<uint64_t, uint64_t> whole;
  return checks(path, name, offset, length, with_sum ? &whole : nullptr);
}

bool code_image_checks(CodeImage& image) {
  std::pair<uint64_t, uint64_t> whole;
  if (!checks(image.path, image.name, image.offset, image.length, &whole)) return false;
  image.file_sum = whole.first;
  image.file_size = whole.second;
  return true;
}

CodeImageStore::CodeImageStore(std::string plan_dir, uint64_t max_bytes) : max_bytes_(max_bytes) {
  if (plan_dir.empty()) return;
  // Absolute: the tracee opens it, from a working directory of its own.
  if (plan_dir[0] != '/') {
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return;
    plan_dir = std::string(cwd) + "/" + plan_dir;
  }
  dir_ = plan_dir + "/images";
}

std::optional<std::string> CodeImageStore::image_named(const std::string& shown) const {
  // An image replaced or trimmed while mapped shows as "PATH (deleted)":
  // its name still stands for what it holds.
  const std::string deleted = " (deleted)";
  std::string path = shown;
  if (path.size() > deleted.size() && path.compare(path.size() - deleted.size(), deleted.size(), deleted) == 0)
    path.resize(path.size() - deleted.size());
  if (!resolved_ || dir_.empty() || path.size() != dir_.size() + 1 + 32 || path.compare(0, dir_.size(), dir_) != 0 ||
      path[dir_.size()] != '/')
    return std::nullopt;
  std::string name = path.substr(dir_.size() + 1);
  if (name.find_first_not_of("0123456789abcdef") != std::string::npos) return std::nullopt;
  return name;
}

std::optional<CodeImage> CodeImageStore::image_for(const std::string& file_path, const PlanKey& settled,
                                                   const MapEntry& m, const RewritePlan& plan,
                                                   const std::string& plan_name) {
  if (m.end <= m.start) return std::nullopt;
  uint64_t length = m.end.as_int() - m.start.as_int();
  CodeImage image{"", "", m.start.as_int(), length, m.offset, m.prot & (PROT_READ | PROT_WRITE | PROT_EXEC)};
  return make(code_image_key(settled, plan_name, m), image, m.name, [&](std::string& bytes) -> Status {
    // Made from the file itself, which must be the one the key names.
    ScopedFd fd(::open(file_path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st;
    if (!fd.is_open() || fstat(fd.get(), &st) != 0) return make_error("cannot open " + file_path + ": " + errno_text());
    if (!S_ISREG(st.st_mode) || !(code_facts_key(st, elf_build_id(fd.get())) == settled))
      return make_error("the file is not the one its plan was made for");
    uint64_t size = (uint64_t)st.st_size;
    uint64_t file_pages = (size + kPageSize - 1) & ~(kPageSize - 1);
    if (m.offset > file_pages || length > file_pages - m.offset)
      return make_error("the mapping reaches past the file's end");
    // The whole file, so that the image is the file with its code
    // rewritten (a tool that opens what /proc/PID/maps names finds an ELF
    // file), and up to the mapping's end: past the end of the file, zeros,
    // as the mapping shows.
    Result<std::string> read = read_fd(fd.get(), file_path);
    if (!read.ok()) return read.take_error();
    if (read.value().size() != size) return make_error(file_path + " changed size while it was read");
    bytes = std::move(read.value());
    bytes.resize(std::max(size, m.offset + length), '\0');
    for (size_t i = 0; i < plan.patches.size(); ++i) {
      PatchList::Ref p = plan.patches[i];
      if (p.addr < m.start.as_int() || p.bytes.size() > length || p.addr - m.start.as_int() > length - p.bytes.size())
        return make_error("a patch at " + std::to_string(p.addr) + " lies outside the mapping");
      memcpy(bytes.data() + m.offset + (p.addr - m.start.as_int()), p.bytes.data(), p.bytes.size());
    }
    return {};
  });
}

std::optional<CodeImage> CodeImageStore::stubs_image_for(const RewritePlan& plan, const std::string& plan_name) {
  if (plan.stubs.empty()) return std::nullopt;
  uint64_t length = (plan.stubs.size() + kPageSize - 1) & ~(kPageSize - 1);
  CodeImage image{"", "", plan.stub_base, length, 0, PROT_READ | PROT_EXEC};
  return make(stubs_image_key(plan_name, plan), image, "stubs", [&](std::string& bytes) -> Status {
    bytes.assign(plan.stubs.data(), plan.stubs.size());
    bytes.resize(length, '\0');  // the rest of the last page, zeros as in an anonymous one
    return {};
  });
}

std::optional<CodeImage> CodeImageStore::make(const PlanKey& key, CodeImage image, const std::string& what,
                                              const std::function<Status(std::string&)>& fill) {
  if (dir_.empty()) return std::nullopt;
  if (!resolved_) {
    // Made, and named as /proc/PID/maps will name what is mapped from it
    // (no symbolic link on the way): image_named recognizes those names.
    resolved_ = true;
    if (Status st = make_dirs(dir_); !st.ok()) {
      RR_LOG("progress counter: no code images: %s", st.error().message.c_str());
      dir_.clear();
      return std::nullopt;
    }
    if (char* real = realpath(dir_.c_str(), nullptr)) {
      dir_ = real;
      free(real);
    }
  }
  image.name = key.hex();
  image.path = dir_ + "/" + image.name;
  if (auto known = checked_.find(image.name); known != checked_.end()) {
    if (!known->second) return std::nullopt;
    image.file_sum = known->second->first;
    image.file_size = known->second->second;
    return image;
  }
  auto fail = [&](const std::string& why) -> std::optional<CodeImage> {
    RR_LOG("progress counter: no code image of %s at 0x%llx: %s", what.c_str(), (unsigned long long)image.start,
           why.c_str());
    checked_[image.name] = std::nullopt;
    return std::nullopt;
  };
  if (path_exists(image.path) && code_image_checks(image)) {
    utimensat(AT_FDCWD, image.path.c_str(), nullptr, 0);  // used now
    checked_[image.name] = std::make_pair(image.file_sum, image.file_size);
    return image;
  }
  std::string bytes;
  if (Status s = fill(bytes); !s.ok()) return fail(s.error().message);
  if (bytes.size() < image.offset || bytes.size() - image.offset < image.length)
    return fail("its bytes do not reach the mapping's end");
  Trailer t;
  memcpy(t.magic, kMagic, sizeof kMagic);
  t.key_low = key.low;
  t.key_high = key.high;
  t.offset = image.offset;
  t.length = image.length;
  t.size = bytes.size();
  image.file_sum = sums_of(bytes.data(), bytes.size(), t, true).second;
  image.file_size = bytes.size() + sizeof t;
  // Written under a name of its own and renamed into place: a recording
  // that runs at once never maps half an image.
  uint64_t nonce = 0;
  if (getrandom(&nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce) nonce = (uint64_t)getpid();
  std::string tmp = image.path + ".tmp." + std::to_string(nonce);
  ScopedFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
  Status written = out.is_open() ? Status{} : make_error("cannot create " + tmp + ": " + errno_text());
  if (written.ok()) written = write_all(out.get(), bytes.data(), bytes.size(), tmp);
  if (written.ok()) written = write_all(out.get(), &t, sizeof t, tmp);
  out.reset();
  if (written.ok() && rename(tmp.c_str(), image.path.c_str()) != 0)
    written = make_error("cannot rename " + tmp + ": " + errno_text());
  if (!written.ok()) {
    unlink(tmp.c_str());
    return fail(written.error().message);
  }
  trim_cache_dir(
      dir_, image.name, SIZE_MAX, max_bytes_,
      [](const std::string&, const struct stat& s) {
        return CacheEntryUse{(int64_t)s.st_mtim.tv_sec * 1000000000 + s.st_mtim.tv_nsec, (uint64_t)s.st_blocks * 512};
      },
      [&](const std::string& name) { unlink((dir_ + "/" + name).c_str()); });
  checked_[image.name] = std::make_pair(image.file_sum, image.file_size);
  return image;
}

}  // namespace rr
