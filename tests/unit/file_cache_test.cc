// The copies of mapped files kept between recordings (trace/file_cache.h)
// and the trace's files/ that links them (trace/file_store.h): a settled
// file is copied once and linked into later traces, never the original; a
// file changed since, a cached copy written since it was kept, a note that
// is not one and a file not yet settled are copied again; a trace that
// links a copy damaged later fails its sum check instead of replaying from
// other bytes; the cache keeps to its size.
#include "trace/file_cache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "scratch_dir.h"
#include "trace/file_store.h"
#include "util/scoped_fd.h"
#include "trace/trace_sums.h"
#include "util/io.h"

namespace rr {
namespace {

class TempDir : public ScratchDir {
 public:
  TempDir() : ScratchDir("rr-file-cache") {}
};

// Writes `bytes` into `path` and dates its mtime `age` seconds back (its
// ctime is now: a file the test made).
// Synced: a file with dirty pages is not cached.
void write_original(const std::string& path, const std::string& bytes, int age) {
  { std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes; }
  int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(fsync(fd), 0);
  close(fd);
  timespec t[2];
  clock_gettime(CLOCK_REALTIME, &t[0]);
  t[0].tv_sec -= age;
  t[1] = t[0];
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), t, 0), 0);
}

struct stat stat_of(const std::string& path) {
  struct stat st = {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st;
}

std::string contents(const std::string& path) {
  Result<std::string> r = read_file(path);
  EXPECT_TRUE(r.ok()) << path;
  return r.ok() ? r.value() : std::string();
}

// A recording's files/: stores `original` into a new trace `trace` with
// the cache in `cache` (settled after `settled` seconds); the copy's path.
std::string store_in_trace(const std::string& trace, const std::string& original, const std::string& cache,
                           int64_t settled = 0, uint64_t max_bytes = FileCache::kMaxBytes) {
  std::filesystem::create_directories(trace);
  FileStore store(trace, FileCache(cache, max_bytes, settled));
  Result<std::string> rel = store.store(original, "lib.so");
  EXPECT_TRUE(rel.ok()) << (rel.ok() ? "" : rel.error().message);
  return rel.ok() ? trace + "/" + rel.value() : std::string();
}

// The copies the cache holds (not their notes).
size_t cached_copies(const std::string& cache) {
  size_t n = 0;
  if (!std::filesystem::exists(cache)) return 0;
  for (const auto& e : std::filesystem::directory_iterator(cache))
    if (e.path().extension() != ".sum") ++n;
  return n;
}

Status check_in_trace(const std::string& trace, const std::string& copy) {
  Result<TraceSums> sums = TraceSums::load(trace, true);
  if (!sums.ok()) return sums.error();
  return sums.value().check_file(copy.substr(trace.size() + 1));
}

TEST(FileCache, ASettledFileIsCopiedOnceThenLinkedNeverTheOriginal) {
  TempDir dir;
  std::string original = dir.path() + "/lib.so", cache = dir.path() + "/cache";
  write_original(original, std::string(10000, 'x') + "code", 60);
  std::string first = store_in_trace(dir.path() + "/t1", original, cache);
  std::string second = store_in_trace(dir.path() + "/t2", original, cache);
  EXPECT_EQ(contents(first), contents(original));
  EXPECT_EQ(contents(second), contents(original));
  EXPECT_EQ(cached_copies(cache), 1u);
  // The second trace links the copy the first one made; the original is
  // not linked anywhere.
  EXPECT_EQ(stat_of(first).st_ino, stat_of(second).st_ino);
  EXPECT_NE(stat_of(first).st_ino, stat_of(original).st_ino);
  EXPECT_EQ(stat_of(original).st_nlink, 1u);
  EXPECT_EQ(stat_of(second).st_nlink, 3u);  // two traces and the cache
  // Both traces list the copy's sum, which checks.
  EXPECT_TRUE(check_in_trace(dir.path() + "/t1", first).ok());
  EXPECT_TRUE(check_in_trace(dir.path() + "/t2", second).ok());
}

TEST(FileCache, AFileChangedSinceIsCopiedAgain) {
  TempDir dir;
  std::string original = dir.path() + "/lib.so", cache = dir.path() + "/cache";
  write_original(original, "old bytes", 60);
  std::string first = store_in_trace(dir.path() + "/t1", original, cache);
  // The same size, the mtime set back: the ctime still moves.
  write_original(original, "new bytes", 60);
  std::string second = store_in_trace(dir.path() + "/t2", original, cache);
  EXPECT_EQ(contents(second), "new bytes");
  EXPECT_EQ(contents(first), "old bytes");
  EXPECT_NE(stat_of(first).st_ino, stat_of(second).st_ino);
  EXPECT_TRUE(check_in_trace(dir.path() + "/t2", second).ok());
}

// The identity names a copy only with the file's contents' tag (build id,
// first and last pages): another file with the same identity, as a
// read-only image's can be, is not given the copy of the first.
TEST(FileCache, ACopyIsNamedByItsIdentityAndItsContentsTag) {
  TempDir dir;
  std::string a = dir.path() + "/a", b = dir.path() + "/b", cache = dir.path() + "/cache";
  write_original(a, std::string(9000, 'a') + "end", 60);
  write_original(b, std::string(9000, 'a') + "END", 60);
  auto tag_of = [](const std::string& path) {
    ScopedFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    return FileCache::content_tag(fd.get(), stat_of(path));
  };
  EXPECT_NE(tag_of(a), tag_of(b)) << "the last page differs";
  EXPECT_EQ(tag_of(a), tag_of(a));
  // a's copy kept under a's identity and tag.
  std::filesystem::create_directories(dir.path() + "/t");
  std::string copy = dir.path() + "/t/copy";
  std::filesystem::copy_file(a, copy);
  Result<PartSum> sum = sum_file(copy);
  ASSERT_TRUE(sum.ok());
  FileCache c(cache, FileCache::kMaxBytes, 0);
  struct stat st = stat_of(a);
  c.keep(st, tag_of(a), copy, sum.value());
  EXPECT_FALSE(c.link_into(st, tag_of(b), dir.path() + "/t/other")) << "the same identity, other contents";
  EXPECT_TRUE(c.link_into(st, tag_of(a), dir.path() + "/t/same"));
}

TEST(FileCache, ACopyWrittenSinceItWasKeptIsNotUsedAndTheTracesLinkingItFailTheirCheck) {
  TempDir dir;
  std::string original = dir.path() + "/lib.so", cache = dir.path() + "/cache";
  write_original(original, "the library's bytes", 60);
  std::string first = store_in_trace(dir.path() + "/t1", original, cache);
  // Written in place through the trace's name (its mode says read-only).
  ASSERT_EQ(chmod(first.c_str(), 0644), 0);
  { std::ofstream(first, std::ios::binary | std::ios::in | std::ios::out) << "T"; }
  std::string second = store_in_trace(dir.path() + "/t2", original, cache);
  EXPECT_EQ(contents(second), "the library's bytes");
  EXPECT_NE(stat_of(first).st_ino, stat_of(second).st_ino);
  EXPECT_TRUE(check_in_trace(dir.path() + "/t2", second).ok());
  // The trace whose copy was written says so.
  Status damaged = check_in_trace(dir.path() + "/t1", first);
  ASSERT_FALSE(damaged.ok());
  EXPECT_NE(damaged.error().message.find("damaged"), std::string::npos) << damaged.error().message;
  // The cache now holds the new copy: a third trace links it.
  std::string third = store_in_trace(dir.path() + "/t3", original, cache);
  EXPECT_EQ(stat_of(third).st_ino, stat_of(second).st_ino);
}

TEST(FileCache, ANoteThatIsNotOneIsNotUsed) {
  TempDir dir;
  std::string original = dir.path() + "/lib.so", cache = dir.path() + "/cache";
  write_original(original, "bytes", 60);
  std::string first = store_in_trace(dir.path() + "/t1", original, cache);
  for (const auto& e : std::filesystem::directory_iterator(cache))
    if (e.path().extension() == ".sum") std::ofstream(e.path(), std::ios::trunc) << "rrfiles 1 nonsense\n";
  std::string second = store_in_trace(dir.path() + "/t2", original, cache);
  EXPECT_NE(stat_of(first).st_ino, stat_of(second).st_ino);
  EXPECT_EQ(contents(second), "bytes");
  EXPECT_TRUE(check_in_trace(dir.path() + "/t2", second).ok());
}

TEST(FileCache, AFileNotSettledIsNotCached) {
  TempDir dir;
  std::string original = dir.path() + "/lib.so", cache = dir.path() + "/cache";
  write_original(original, "fresh", 60);  // its ctime is now
  std::string first = store_in_trace(dir.path() + "/t1", original, cache, 3600);
  std::string second = store_in_trace(dir.path() + "/t2", original, cache, 3600);
  EXPECT_EQ(cached_copies(cache), 0u);
  EXPECT_NE(stat_of(first).st_ino, stat_of(second).st_ino);
  EXPECT_EQ(stat_of(second).st_nlink, 1u);
}

TEST(FileCache, TheCacheKeepsToItsSize) {
  TempDir dir;
  std::string cache = dir.path() + "/cache";
  // Three files of 64 KiB, at most 100 KiB cached: the latest stays.
  for (int i = 0; i < 3; ++i) {
    std::string original = dir.path() + "/lib" + std::to_string(i);
    write_original(original, std::string(64 << 10, (char)('a' + i)), 60);
    store_in_trace(dir.path() + "/t" + std::to_string(i), original, cache, 0, 100 << 10);
  }
  EXPECT_EQ(cached_copies(cache), 1u);
  std::string again = store_in_trace(dir.path() + "/t3", dir.path() + "/lib2", cache, 0, 100 << 10);
  EXPECT_EQ(stat_of(again).st_ino, stat_of(dir.path() + "/t2/files/lib.so-0").st_ino);
}

TEST(FileCache, TheDefaultPlace) {
  const char* names[3] = {"RR_FILE_CACHE", "XDG_CACHE_HOME", "HOME"};
  std::string saved[3];
  bool had[3];
  for (int i = 0; i < 3; ++i) {
    const char* v = getenv(names[i]);
    had[i] = v != nullptr;
    if (v) saved[i] = v;
  }
  unsetenv("RR_FILE_CACHE");
  unsetenv("XDG_CACHE_HOME");
  setenv("HOME", "/h", 1);
  EXPECT_EQ(FileCache::default_dir(), "/h/.cache/rr/files");
  setenv("XDG_CACHE_HOME", "/c", 1);
  EXPECT_EQ(FileCache::default_dir(), "/c/rr/files");
  setenv("RR_FILE_CACHE", "/f", 1);
  EXPECT_EQ(FileCache::default_dir(), "/f");
  setenv("RR_FILE_CACHE", "off", 1);
  EXPECT_EQ(FileCache::default_dir(), "");
  for (int i = 0; i < 3; ++i) {
    if (had[i])
      setenv(names[i], saved[i].c_str(), 1);
    else
      unsetenv(names[i]);
  }
}

}  // namespace
}  // namespace rr
