#include "util/io.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/scoped_fd.h"

namespace rr {

std::string errno_text() { return strerror(errno); }

Status write_all(int fd, const void* data, size_t len, const std::string& what) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error("cannot write " + what + ": " + errno_text());
    }
    p += n;
    len -= n;
  }
  return {};
}

Result<std::string> read_file(const std::string& path) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.is_open()) return make_error("cannot open " + path + ": " + errno_text());
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error("cannot read " + path + ": " + errno_text());
    }
    if (n == 0) break;
    out.append(buf, n);
  }
  return out;
}

Status write_file_atomic(const std::string& path, const void* data, size_t len) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  ScopedFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.is_open()) return make_error("cannot create " + tmp + ": " + errno_text());
  Status st = write_all(fd.get(), data, len, tmp);
  if (st.ok() && fsync(fd.get()) != 0) st = make_error("cannot sync " + tmp + ": " + errno_text());
  fd.reset();
  if (st.ok() && rename(tmp.c_str(), path.c_str()) != 0)
    st = make_error("cannot rename " + tmp + " to " + path + ": " + errno_text());
  if (!st.ok()) unlink(tmp.c_str());
  return st;
}

Status make_dirs(const std::string& path) {
  if (path.empty()) return {};
  std::string cur;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    cur = path.substr(0, j);
    if (!cur.empty() && mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
      return make_error("cannot create directory " + cur + ": " + errno_text());
    i = j + 1;
  }
  return {};
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace rr
