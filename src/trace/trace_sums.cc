#include "trace/trace_sums.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cinttypes>
#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <mutex>
#include <set>
#include <vector>
#include <xxhash.h>

#include "util/io.h"
#include "util/scoped_fd.h"

namespace rr {

namespace {

constexpr uint64_t kSumPage = 4096;

// The sparse sum: XXH3 over (page number, page) of every page that is not
// all zeros, found through the data extents, so a hole costs nothing and the
// sum does not depend on where the file system keeps holes.
Result<PartSum> sum_sparse(int fd, uint64_t size, const std::string& path) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  std::vector<char> page(kSumPage);
  static const char zeros[kSumPage] = {};
  uint64_t next = 0;  // the first page not yet summed
  for (const DataExtent& e : data_extents(fd, size)) {
    for (uint64_t n = std::max(next, e.offset / kSumPage); n * kSumPage < e.offset + e.length; ++n) {
      uint64_t len = std::min(kSumPage, size - n * kSumPage);
      ssize_t got = pread(fd, page.data(), len, (off_t)(n * kSumPage));
      if (got != (ssize_t)len) {
        XXH3_freeState(state);
        return make_error("cannot read " + path + ": " + (got < 0 ? errno_text() : std::string("it is shorter than its size")));
      }
      if (memcmp(page.data(), zeros, len) == 0) continue;
      XXH3_64bits_update(state, &n, sizeof n);
      XXH3_64bits_update(state, page.data(), len);
      next = n + 1;
    }
  }
  PartSum s{XXH3_64bits_digest(state), size, true};
  XXH3_freeState(state);
  return s;
}

}  // namespace

Result<PartSum> sum_file(const std::string& path, std::optional<bool> sparse) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.is_open()) return make_error("cannot open " + path + ": " + errno_text());
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return make_error("cannot stat " + path + ": " + errno_text());
  if (!sparse) {
    // A file with holes gets the sparse sum.
    std::vector<DataExtent> data = data_extents(fd.get(), st.st_size);
    uint64_t held = 0;
    for (const DataExtent& e : data) held += e.length;
    sparse = held < (uint64_t)st.st_size;
  }
  if (*sparse) return sum_sparse(fd.get(), st.st_size, path);
  // Read through one buffer of the thread's, kept between files: a fresh
  // buffer zeroed for each file, or a mapping of each file, costs more in
  // page faults than the copy (python3's start maps 30 MB of copies, which
  // every replay and restore checks). The same XXH3-64 as one pass.
  static thread_local std::vector<char> buffer(256 << 10);
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  uint64_t done = 0;
  while (done < (uint64_t)st.st_size) {
    size_t want = (size_t)std::min<uint64_t>(buffer.size(), (uint64_t)st.st_size - done);
    ssize_t got = pread(fd.get(), buffer.data(), want, (off_t)done);
    if (got <= 0) {
      XXH3_freeState(state);
      return make_error("cannot read " + path + ": " + (got < 0 ? errno_text() : std::string("it is shorter than its size")));
    }
    XXH3_64bits_update(state, buffer.data(), (size_t)got);
    done += (uint64_t)got;
  }
  PartSum s{XXH3_64bits_digest(state), done};
  XXH3_freeState(state);
  return s;
}

PartSum sum_bytes(const void* data, size_t len) { return PartSum{XXH3_64bits(data, len), len}; }

Status append_sum(const std::string& trace_dir, const std::string& rel, const PartSum& sum) {
  std::string path = trace_dir + "/sums";
  ScopedFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!fd.is_open()) return make_error("cannot open " + path + ": " + errno_text());
  char line[64];
  snprintf(line, sizeof line, "%016" PRIx64 "%s %" PRIu64 " ", sum.hash, sum.sparse ? "z" : "", sum.size);
  std::string text = line + rel + "\n";
  return write_all(fd.get(), text.data(), text.size(), path);
}

Result<TraceSums> TraceSums::load(const std::string& trace_dir, bool required) {
  TraceSums t;
  t.dir_ = trace_dir;
  auto text = read_file(trace_dir + "/sums");
  if (!text.ok()) {
    if (!required) return t;
    return make_error(ErrorKind::Corrupt, trace_dir + " is incomplete: its sums file is missing or unreadable");
  }
  t.on_ = true;
  size_t pos = 0;
  const std::string& s = text.value();
  while (pos < s.size()) {
    size_t nl = s.find('\n', pos);
    if (nl == std::string::npos) return make_error(ErrorKind::Corrupt, trace_dir + "/sums is corrupt (a line without its end)");
    std::string line = s.substr(pos, nl - pos);
    pos = nl + 1;
    unsigned long long hash = 0, size = 0;
    int hash_end = 0, used = 0;
    bool parsed = sscanf(line.c_str(), "%16llx%n", &hash, &hash_end) == 1 && hash_end > 0;
    bool sparse = parsed && line[hash_end] == 'z';
    if (!parsed || sscanf(line.c_str() + hash_end + sparse, " %llu %n", &size, &used) != 1 || used <= 0 ||
        (size_t)(hash_end + sparse + used) >= line.size())
      return make_error(ErrorKind::Corrupt, trace_dir + "/sums is corrupt (line '" + line + "')");
    t.sums_[line.substr(hash_end + sparse + used)].push_back(PartSum{hash, size, sparse});
  }
  return t;
}

Status TraceSums::check_bytes(const std::string& rel, const void* data, size_t len) {
  if (!on_) return {};
  PartSum got = sum_bytes(data, len);
  auto listed = [&] {
    auto it = sums_.find(rel);
    if (it == sums_.end()) return false;
    for (const PartSum& s : it->second)
      if (got.size == s.size && got.hash == s.hash) return true;
    return false;
  };
  if (listed()) return {};
  // A version the recorder wrote after the sums were loaded: its line was
  // appended before the file was replaced.
  auto now = load(dir_, true);
  if (now.ok()) sums_ = std::move(now.value().sums_);
  if (listed()) return {};
  if (!sums_.count(rel)) return make_error(ErrorKind::Corrupt, dir_ + "/" + rel + " is not listed in the trace's sums");
  return make_error(ErrorKind::Corrupt, dir_ + "/" + rel + " is damaged (its contents do not match the trace's sums)");
}

Status TraceSums::check_file(const std::string& rel) {
  if (!on_) return {};
  // A file once found sound is not read again while it stays the same
  // file (a debugging session opens many replays of one trace).
  // Restores check a process's files on a helper thread (restore.cc).
  static std::mutex sound_lock;
  static std::set<std::string> sound;
  struct stat st;
  std::string path = dir_ + "/" + rel;
  std::string identity = path;
  if (stat(path.c_str(), &st) == 0)
    identity += " " + std::to_string(st.st_ino) + " " + std::to_string(st.st_size) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
                std::to_string(st.st_mtim.tv_nsec);
  {
    std::lock_guard<std::mutex> g(sound_lock);
    if (sound.count(identity)) return {};
  }
  auto it = sums_.find(rel);
  if (it == sums_.end()) {
    // A trace read while it is recorded (TraceReader::follow) lists the
    // files copied since it was opened only in the sums as they are now.
    auto now = load(dir_, true);
    if (now.ok()) sums_ = std::move(now.value().sums_);
    it = sums_.find(rel);
  }
  if (it == sums_.end()) return make_error(ErrorKind::Corrupt, dir_ + "/" + rel + " is not listed in the trace's sums");
  const PartSum& want = it->second.back();
  auto got = sum_file(dir_ + "/" + rel, want.sparse);
  if (!got.ok()) return make_error(ErrorKind::Corrupt, "the trace is incomplete: " + got.error().message);
  if (got.value().size != want.size || got.value().hash != want.hash)
    return make_error(ErrorKind::Corrupt, dir_ + "/" + rel + " is damaged (its contents do not match the trace's sums)");
  std::lock_guard<std::mutex> g(sound_lock);
  sound.insert(identity);
  return {};
}

}  // namespace rr
