// FileStore: the files/ folder of a trace being recorded. Every file the
// program maps is copied there (copy_file_range: in-kernel, and shared
// extents where the file system can; holes stay holes), once per identity
// (device, inode, size, mtime), so that replay never reads the original
// file system and later changes to the files do not matter. A copy an
// earlier recording made of the same file is linked instead, from the
// file cache (trace/file_cache.h).
#pragma once

#include <map>
#include <string>
#include <tuple>

#include "trace/file_cache.h"
#include "util/result.h"

namespace rr {

class FileStore {
 public:
  // `cache`: where copies are kept between recordings.
  FileStore(std::string trace_dir, FileCache cache) : trace_dir_(std::move(trace_dir)), cache_(std::move(cache)) {}

  // Stores the file that `open_path` opens (for example /proc/PID/fd/N or
  // /proc/PID/map_files/A-B, which work for deleted files too). `name_hint`
  // is the path the program saw, used to name the copy. Returns the copy's
  // path relative to the trace directory ("files/libc.so.6-3").
  Result<std::string> store(const std::string& open_path, const std::string& name_hint);

 private:
  using Key = std::tuple<uint64_t, uint64_t, int64_t, int64_t, int64_t>;
  std::string trace_dir_;
  FileCache cache_;
  std::map<Key, std::string> stored_;
};

}  // namespace rr
