#include "util/io.h"

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
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
  return read_fd(fd.get(), path);
}

Result<std::string> read_fd(int fd, const std::string& what) {
  // Read in place into a string sized by fstat (an executable the recorder
  // scans at every exec is megabytes: growing by appends copied it about
  // twice more); /proc files say 0 and grow as they are read.
  struct stat st;
  size_t want = fstat(fd, &st) == 0 && st.st_size > 0 ? (size_t)st.st_size + 1 : 65536;
  std::string out(want, '\0');
  size_t have = 0;
  for (;;) {
    if (have == out.size()) out.resize(out.size() * 2);
    ssize_t n = ::read(fd, out.data() + have, out.size() - have);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error("cannot read " + what + ": " + errno_text());
    }
    if (n == 0) break;
    have += (size_t)n;
  }
  out.resize(have);
  return out;
}

Result<std::shared_ptr<const MappedFile>> MappedFile::open(const std::string& path) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.is_open()) return make_error("cannot open " + path + ": " + errno_text());
  return of(fd.get(), path);
}

Result<std::shared_ptr<const MappedFile>> MappedFile::of(int fd, const std::string& path) {
  struct stat st;
  if (fstat(fd, &st) != 0) return make_error("cannot read " + path + ": " + errno_text());
  if (!S_ISREG(st.st_mode)) return make_error("cannot read " + path + ": not a regular file");
  std::shared_ptr<MappedFile> f(new MappedFile);
  f->size_ = (size_t)st.st_size;
  if (f->size_ == 0) return std::shared_ptr<const MappedFile>(std::move(f));
  void* data = mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  if (data != MAP_FAILED) {
    f->data_ = data;
    f->mapped_ = true;
    return std::shared_ptr<const MappedFile>(std::move(f));
  }
  if (lseek(fd, 0, SEEK_SET) != 0) return make_error("cannot read " + path + ": " + errno_text());
  RR_ASSIGN_OR_RETURN(f->read_, read_fd(fd, path));
  f->data_ = f->read_.data();
  f->size_ = f->read_.size();
  return std::shared_ptr<const MappedFile>(std::move(f));
}

MappedFile::~MappedFile() {
  if (mapped_) munmap(data_, size_);
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

namespace rr {

std::vector<DataExtent> data_extents(int fd, uint64_t size, uint64_t from) {
  std::vector<DataExtent> out;
  uint64_t pos = from;
  while (pos < size) {
    off_t data = lseek(fd, (off_t)pos, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // only a hole from here to the end
      // The file system does not know (or the call failed): all of it.
      out.assign(1, DataExtent{from, size - from});
      return out;
    }
    if ((uint64_t)data >= size) break;
    off_t hole = lseek(fd, data, SEEK_HOLE);
    uint64_t end = hole < 0 ? size : std::min<uint64_t>((uint64_t)hole, size);
    if (end <= (uint64_t)data) {
      out.assign(1, DataExtent{from, size - from});
      return out;
    }
    out.push_back({(uint64_t)data, end - (uint64_t)data});
    pos = end;
  }
  return out;
}

namespace {

Status copy_range(int in, int out, uint64_t offset, uint64_t length, const std::string& what) {
  loff_t in_off = (loff_t)offset, out_off = (loff_t)offset;
  uint64_t end = offset + length;
  bool plain = false;
  std::vector<char> buf;
  while ((uint64_t)in_off < end) {
    size_t want = (size_t)std::min<uint64_t>(end - (uint64_t)in_off, 1u << 30);
    ssize_t n;
    if (!plain) {
      n = copy_file_range(in, &in_off, out, &out_off, want, 0);
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
        plain = true;
        continue;
      }
    } else {
      if (buf.empty()) buf.resize(1 << 20);
      n = pread(in, buf.data(), std::min(want, buf.size()), in_off);
      if (n > 0) {
        Status st = write_at(out, buf.data(), (size_t)n, (uint64_t)in_off, what);
        if (!st.ok()) return st;
        in_off += n;
        out_off += n;
      }
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error("cannot copy " + what + ": " + errno_text());
    }
    if (n == 0) break;  // the file shrank meanwhile
  }
  return {};
}

}  // namespace

Status copy_sparse(int in, int out, uint64_t size, const std::string& what) {
  if (ftruncate(out, (off_t)size) != 0) return make_error("cannot copy " + what + ": " + errno_text());
  for (const DataExtent& e : data_extents(in, size)) {
    Status st = copy_range(in, out, e.offset, e.length, what);
    if (!st.ok()) return st;
  }
  return {};
}

Status write_at(int fd, const void* data, size_t len, uint64_t offset, const std::string& what) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = pwrite(fd, p, len, (off_t)offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error("cannot write " + what + ": " + (n < 0 ? errno_text() : std::string("no space")));
    p += n;
    len -= (size_t)n;
    offset += (uint64_t)n;
  }
  return {};
}

}  // namespace rr
