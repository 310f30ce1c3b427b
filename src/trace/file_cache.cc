#include "trace/file_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/elf_code.h"
#include "core/plan_store.h"
#include "util/cache_dir.h"
#include "util/fatal.h"
#include "util/io.h"
#include "util/scoped_fd.h"

namespace rr {

namespace {

int64_t ns_of(const timespec& t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

// A copy's note: "rrfiles 1 <sum><z if sparse> <size> <copy inode> <copy
// mtime in ns>". The version changes with the layout.
constexpr char kNoteTag[] = "rrfiles 1";

struct Note {
  PartSum sum;
  uint64_t ino = 0;
  int64_t mtime_ns = 0;
};

std::string note_text(const Note& n) {
  char buf[160];
  snprintf(buf, sizeof buf, "%s %016" PRIx64 "%s %" PRIu64 " %" PRIu64 " %" PRId64 "\n", kNoteTag, n.sum.hash,
           n.sum.sparse ? "z" : "", n.sum.size, n.ino, n.mtime_ns);
  return buf;
}

std::optional<Note> parse_note(const std::string& text) {
  Note n;
  char z = 0;
  unsigned long long hash = 0, size = 0, ino = 0;
  long long mtime = 0;
  int used = 0;
  const size_t tag = sizeof kNoteTag - 1;
  if (text.compare(0, tag, kNoteTag) != 0) return std::nullopt;
  const char* rest = text.c_str() + tag;
  // The sparse mark, when there, sits right after the 16 digits.
  if (sscanf(rest, " %16llx%n", &hash, &used) != 1) return std::nullopt;
  rest += used;
  if (*rest == 'z') {
    z = 1;
    ++rest;
  }
  if (sscanf(rest, " %llu %llu %lld\n%n", &size, &ino, &mtime, &used) != 3 || rest[used] != '\0') return std::nullopt;
  n.sum = PartSum{hash, size, z != 0};
  n.ino = ino;
  n.mtime_ns = mtime;
  return n;
}

}  // namespace

std::string FileCache::default_dir() {
  if (const char* own = getenv("RR_FILE_CACHE")) return strcmp(own, "off") == 0 ? std::string() : std::string(own);
  if (const char* xdg = getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/rr/files";
  if (const char* home = getenv("HOME"); home && *home) return std::string(home) + "/.cache/rr/files";
  return {};
}

bool FileCache::cacheable(int fd, const struct stat& st) const {
  return !dir_.empty() && st.st_nlink > 0 && settled_file(fd, st, settled_seconds_);
}

std::string FileCache::content_tag(int fd, const struct stat& st) {
  std::string tag = elf_build_id(fd);
  char page[2][4096];
  ssize_t first = pread(fd, page[0], sizeof page[0], 0);
  off_t last_at = st.st_size > (off_t)sizeof page[1] ? st.st_size - (off_t)sizeof page[1] : 0;
  ssize_t last = pread(fd, page[1], sizeof page[1], last_at);
  uint64_t sums[2] = {XXH3_64bits(page[0], first > 0 ? first : 0), XXH3_64bits(page[1], last > 0 ? last : 0)};
  tag.append(reinterpret_cast<const char*>(sums), sizeof sums);
  return tag;
}

std::string FileCache::name_of(const struct stat& st, const std::string& tag) const {
  uint64_t id[7] = {(uint64_t)st.st_dev,        (uint64_t)st.st_ino,        (uint64_t)st.st_size,
                    (uint64_t)st.st_mtim.tv_sec, (uint64_t)st.st_mtim.tv_nsec, (uint64_t)st.st_ctim.tv_sec,
                    (uint64_t)st.st_ctim.tv_nsec};
  std::string in(reinterpret_cast<const char*>(id), sizeof id);
  in += tag;
  XXH128_hash_t h = XXH3_128bits(in.data(), in.size());
  char buf[40];
  snprintf(buf, sizeof buf, "%016llx%016llx", (unsigned long long)h.high64, (unsigned long long)h.low64);
  return buf;
}

std::optional<PartSum> FileCache::link_into(const struct stat& st, const std::string& tag,
                                           const std::string& dest) const {
  std::string path = dir_ + "/" + name_of(st, tag);
  Result<std::string> text = read_file(path + ".sum");
  if (!text.ok()) return std::nullopt;
  std::optional<Note> note = parse_note(text.value());
  auto unused = [&](const char* why) -> std::optional<PartSum> {
    RR_LOG("file cache: %s is not used: %s", path.c_str(), why);
    return std::nullopt;
  };
  if (!note) return unused("its note is not one");
  if (note->sum.size != (uint64_t)st.st_size) return unused("its note gives another size");
  if (link(path.c_str(), dest.c_str()) != 0) return std::nullopt;  // another file system, or gone meanwhile
  // The copy linked, checked against its note: written since it was kept,
  // its mtime moved; replaced meanwhile, another inode.
  struct stat got;
  if (stat(dest.c_str(), &got) != 0 || got.st_ino != note->ino || (uint64_t)got.st_size != note->sum.size ||
      ns_of(got.st_mtim) != note->mtime_ns) {
    unlink(dest.c_str());
    return unused("the copy was changed or replaced since its note was written");
  }
  utimensat(AT_FDCWD, (path + ".sum").c_str(), nullptr, 0);  // used now
  return note->sum;
}

void FileCache::keep(const struct stat& st, const std::string& tag, const std::string& copy,
                     const PartSum& sum) const {
  if (Status s = make_dirs(dir_); !s.ok()) {
    RR_LOG("file cache: copies are not kept: %s", s.error().message.c_str());
    return;
  }
  std::string name = name_of(st, tag), path = dir_ + "/" + name;
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  // On disk before its note is: a copy cut short by a crash would be
  // linked into every later trace (whose replay would then refuse it).
  ScopedFd fd(::open(copy.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.is_open() || fsync(fd.get()) != 0) {
    RR_LOG("file cache: %s is not kept: %s", copy.c_str(), errno_text().c_str());
    return;
  }
  struct stat got;
  if (link(copy.c_str(), tmp.c_str()) != 0 || stat(tmp.c_str(), &got) != 0) {
    RR_LOG("file cache: %s is not kept: %s", copy.c_str(), errno_text().c_str());
    unlink(tmp.c_str());
    return;
  }
  std::string note = note_text(Note{sum, (uint64_t)got.st_ino, ns_of(got.st_mtim)});
  // The copy goes into place first: a reader that finds the note of
  // another copy (a recording that kept the same file at once) finds an
  // inode that is not its note's and does not use it.
  Status s = rename(tmp.c_str(), path.c_str()) == 0 ? write_file_atomic(path + ".sum", note.data(), note.size())
                                                    : make_error("cannot rename " + tmp + ": " + errno_text());
  if (!s.ok()) {
    unlink(tmp.c_str());
    RR_LOG("file cache: %s is not kept: %s", copy.c_str(), s.error().message.c_str());
    return;
  }
  trim(name);
}

void FileCache::trim(const std::string& keep) const {
  // A copy's use is its note's mtime (when it was last linked); the note
  // goes first: a copy without its note is never used.
  trim_cache_dir(
      dir_, keep, kMaxFiles, max_bytes_,
      [&](const std::string& name, const struct stat& st) {
        struct stat note;
        int64_t used = stat((dir_ + "/" + name + ".sum").c_str(), &note) == 0 ? ns_of(note.st_mtim) : 0;
        return CacheEntryUse{used, (uint64_t)st.st_blocks * 512};
      },
      [&](const std::string& name) {
        unlink((dir_ + "/" + name + ".sum").c_str());
        unlink((dir_ + "/" + name).c_str());
      });
}

}  // namespace rr
