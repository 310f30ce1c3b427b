#include "trace/file_store.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/plan_store.h"
#include "trace/trace_sums.h"
#include "util/io.h"
#include "util/scoped_fd.h"

namespace rr {

namespace {

std::string base_name(const std::string& path) {
  std::string p = path;
  const std::string deleted = " (deleted)";
  if (p.size() > deleted.size() && p.compare(p.size() - deleted.size(), deleted.size(), deleted) == 0)
    p.resize(p.size() - deleted.size());
  size_t slash = p.rfind('/');
  std::string b = slash == std::string::npos ? p : p.substr(slash + 1);
  for (char& c : b)
    if (c == '/' || c == ' ' || c == ':' || (unsigned char)c < 32) c = '_';
  if (b.empty()) b = "file";
  if (b.size() > 64) b.resize(64);
  return b;
}

}  // namespace

Result<std::string> FileStore::store(const std::string& open_path, const std::string& name_hint) {
  ScopedFd in(::open(open_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.is_open()) return make_error("cannot open " + name_hint + " to keep it in the trace: " + errno_text());
  struct stat st;
  if (fstat(in.get(), &st) != 0) return make_error("cannot stat " + name_hint + ": " + errno_text());
  Key key{st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
  auto it = stored_.find(key);
  if (it != stored_.end()) return it->second;

  std::string dir = trace_dir_ + "/files";
  RR_TRY(make_dirs(dir));
  std::string rel = "files/" + base_name(name_hint) + "-" + std::to_string(stored_.size());
  std::string dest = trace_dir_ + "/" + rel;
  // A copy made by an earlier recording, linked (trace/file_cache.h). Never
  // the original itself: a link would change its link count, which the
  // program can see (ls -l), and would follow in-place changes.
  bool cacheable = cache_.cacheable(in.get(), st);
  std::string tag = cacheable ? FileCache::content_tag(in.get(), st) : "";
  if (cacheable)
    if (std::optional<PartSum> sum = cache_.link_into(st, tag, dest)) {
      RR_TRY(append_sum(trace_dir_, rel, *sum));
      stored_.emplace(key, rel);
      return rel;
    }
  {
    // Read-only, but executable where the original is: replay makes the copy
    // of the program its /proc/PID/exe, which the kernel wants executable.
    mode_t mode = 0444 | (st.st_mode & 0111);
    ScopedFd out(::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (!out.is_open()) return make_error("cannot create " + dest + ": " + errno_text());
    // Holes stay holes: a sparse file of 1 TiB with a page of data is a
    // page in the trace.
    RR_TRY(copy_sparse(in.get(), out.get(), st.st_size, name_hint + " into the trace"));
  }
  // The sum of what landed in the copy, which replay checks before it maps it.
  RR_ASSIGN_OR_RETURN(PartSum sum, sum_file(dest));
  RR_TRY(append_sum(trace_dir_, rel, sum));
  // Kept for later recordings only if the file did not change while it was
  // copied (its identity then names these bytes).
  struct stat after;
  if (cacheable && fstat(in.get(), &after) == 0 && same_identity(after, st)) cache_.keep(st, tag, dest, sum);
  stored_.emplace(key, rel);
  return rel;
}

}  // namespace rr
