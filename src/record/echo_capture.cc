#include "record/echo_capture.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "util/scoped_fd.h"

namespace rr {

namespace {

// The tracee's descriptor `fd`, opened anew through /proc: for a regular
// file a description of our own (reads move no offset of the tracee's), for
// a pipe the same pipe.
ScopedFd open_tracee_fd(Task& t, uint64_t fd, int flags) {
  std::string path = "/proc/" + std::to_string(t.tid()) + "/fd/" + std::to_string((int)fd);
  return ScopedFd(open(path.c_str(), flags | O_CLOEXEC));
}

mode_t tracee_fd_type(Task& t, uint64_t fd) {
  std::string path = "/proc/" + std::to_string(t.tid()) + "/fd/" + std::to_string((int)fd);
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? (st.st_mode & S_IFMT) : 0;
}

// Where the `len` bytes the call moved through descriptor `fd` start: the
// loff_t that argument `off_arg` points to was advanced past them, and so was
// the file position when there is no such pointer.
int64_t start_of_moved(Task& t, const SyscallArgs& call, int off_arg, uint64_t fd, uint64_t len) {
  int64_t end = -1;
  if (off_arg >= 0 && call.arg[off_arg] != 0) {
    if (!t.read_mem(RemotePtr<>(call.arg[off_arg]), &end, sizeof end)) return -1;
  } else {
    end = tracee_fd_pos(t, fd);
  }
  return end >= (int64_t)len ? end - (int64_t)len : -1;
}

// `len` bytes of the tracee's regular file `fd` from `start`, or nullopt.
std::optional<std::string> read_file_range(Task& t, uint64_t fd, int64_t start, uint64_t len) {
  if (start < 0) return std::nullopt;
  ScopedFd file = open_tracee_fd(t, fd, O_RDONLY);
  if (!file.is_open()) return std::nullopt;
  std::string out(len, '\0');
  size_t got = 0;
  while (got < len) {
    ssize_t n = pread(file.get(), out.data() + got, len - got, start + (off_t)got);
    if (n <= 0) return std::nullopt;
    got += (size_t)n;
  }
  return out;
}

// Up to `len` bytes at the head of the tracee's pipe `fd`, left in it.
std::optional<std::string> peek_pipe(Task& t, uint64_t fd, uint64_t len) {
  ScopedFd src = open_tracee_fd(t, fd, O_RDONLY | O_NONBLOCK);
  if (!src.is_open()) return std::nullopt;
  int p[2];
  if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return std::nullopt;
  ScopedFd in(p[0]), out(p[1]);
  // Room for all the source holds, so one tee takes it.
  int size = fcntl(src.get(), F_GETPIPE_SZ);
  if (size > 0) fcntl(out.get(), F_SETPIPE_SZ, size);
  ssize_t n = tee(src.get(), out.get(), len, SPLICE_F_NONBLOCK);
  if (n < 0) return n == -1 && errno == EAGAIN ? std::optional<std::string>("") : std::nullopt;
  std::string bytes(n, '\0');
  size_t got = 0;
  while (got < (size_t)n) {
    ssize_t r = read(in.get(), bytes.data() + got, n - got);
    if (r <= 0) return std::nullopt;
    got += (size_t)r;
  }
  return bytes;
}

}  // namespace

// The file position of the tracee's descriptor `fd`, or -1.
int64_t tracee_fd_pos(Task& t, uint64_t fd) {
  std::string path = "/proc/" + std::to_string(t.tid()) + "/fdinfo/" + std::to_string((int)fd);
  FILE* f = fopen(path.c_str(), "re");
  if (f == nullptr) return -1;
  long long pos = -1;
  if (fscanf(f, "pos: %lld", &pos) != 1) pos = -1;
  fclose(f);
  return pos;
}

void EchoCapture::at_entry(Task& t, const SyscallDesc& desc, const SyscallArgs& call) {
  taken_.reset();
  clamped_arg_ = -1;
  const FdWrite& w = desc.write;
  // Methods 1 and 2 need nothing from the entry.
  if (tracee_fd_type(t, call.arg[w.fd]) == S_IFREG || tracee_fd_type(t, call.arg[w.src]) != S_IFIFO) return;
  uint64_t len = call.arg[w.count];
  taken_ = peek_pipe(t, call.arg[w.src], len);
  // An empty pipe: the call blocks until a writer comes, and what it moves
  // then cannot be taken from here.
  if (!taken_ || taken_->empty() || taken_->size() >= len) return;
  Registers r = t.regs();
  clamped_arg_ = w.count;
  clamped_from_ = len;
  r.set_arg(w.count, taken_->size());
  t.set_regs(r);
}

void EchoCapture::restore_registers(Task& t) {
  if (clamped_arg_ < 0) return;
  Registers r = t.regs();
  r.set_arg(clamped_arg_, clamped_from_);
  t.set_regs(r);
  clamped_arg_ = -1;
}

std::optional<std::string> EchoCapture::at_exit(Task& t, const SyscallDesc& desc, const SyscallArgs& call) {
  std::optional<std::string> taken = std::move(taken_);
  taken_.reset();
  const FdWrite& w = desc.write;
  uint64_t len = (uint64_t)call.ret;
  uint64_t out_fd = call.arg[w.fd], src_fd = call.arg[w.src];
  if (tracee_fd_type(t, out_fd) == S_IFREG) {
    if (auto got = read_file_range(t, out_fd, start_of_moved(t, call, w.off, out_fd, len), len)) return got;
  }
  if (tracee_fd_type(t, src_fd) == S_IFREG) {
    if (auto got = read_file_range(t, src_fd, start_of_moved(t, call, w.src_off, src_fd, len), len)) return got;
  }
  if (taken && taken->size() >= len) return taken->substr(0, len);
  return std::nullopt;
}

}  // namespace rr
