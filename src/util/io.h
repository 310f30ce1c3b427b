// Small file helpers that turn errno into user-facing errors.
#pragma once

#include <string>
#include <vector>

#include "util/result.h"

namespace rr {

// Writes all of `len` bytes or fails naming `what` (a path) and the reason.
Status write_all(int fd, const void* data, size_t len, const std::string& what);
Result<std::string> read_file(const std::string& path);
// Writes `data` to `path` through a temporary file, fsync and rename, so a
// reader never sees a half-written file under the real name.
Status write_file_atomic(const std::string& path, const void* data, size_t len);
Status make_dirs(const std::string& path);
bool path_exists(const std::string& path);
std::string errno_text();

}  // namespace rr
