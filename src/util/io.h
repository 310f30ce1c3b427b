// Small file helpers that turn errno into user-facing errors.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace rr {

// Writes all of `len` bytes or fails naming `what` (a path) and the reason.
Status write_all(int fd, const void* data, size_t len, const std::string& what);
Result<std::string> read_file(const std::string& path);
// The rest of open file `fd` from its position; `what` names it in errors.
Result<std::string> read_fd(int fd, const std::string& what);
// A file's bytes mapped read-only (private, populated at once): the page
// cache's pages themselves, without the copy and the fresh pages a read
// into a string costs. Only for files that are replaced by a rename, never
// changed or cut short in place (the plan store's, a trace's copies of
// them): a file cut short under the mapping faults at its missing pages.
// The size is the file's when it was opened. Where the file system cannot
// map the file, its bytes are read into memory of the object's own.
class MappedFile {
 public:
  static Result<std::shared_ptr<const MappedFile>> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  // The same, of the open file `fd` (`path` in errors).
  static Result<std::shared_ptr<const MappedFile>> of(int fd, const std::string& path);
  std::string_view view() const { return {static_cast<const char*>(data_), size_}; }

 private:
  MappedFile() = default;
  void* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  std::string read_;  // the bytes, where the file could not be mapped
};
// Writes `data` to `path` through a temporary file, fsync and rename, so a
// reader never sees a half-written file under the real name.
Status write_file_atomic(const std::string& path, const void* data, size_t len);
Status make_dirs(const std::string& path);
bool path_exists(const std::string& path);
std::string errno_text();

}  // namespace rr

namespace rr {

// The byte ranges of a file that hold data, from SEEK_DATA/SEEK_HOLE: a
// hole reads as zeros and takes no space. Where the file system cannot say,
// the whole [0, size) is one range. Moves the file position of `fd`.
struct DataExtent {
  uint64_t offset = 0;
  uint64_t length = 0;
};
// From `from` on only, where it is given.
std::vector<DataExtent> data_extents(int fd, uint64_t size, uint64_t from = 0);

// Copies the `size` bytes of `in` into `out` (both regular files, `out`
// empty), holes kept as holes: `out` is given the size, then only the data
// extents are copied (copy_file_range, which shares extents where the file
// system can; else read and write). `what` names `in` in errors.
Status copy_sparse(int in, int out, uint64_t size, const std::string& what);
// pwrite of all `len` bytes at `offset`, or an error naming `what`.
Status write_at(int fd, const void* data, size_t len, uint64_t offset, const std::string& what);

}  // namespace rr
