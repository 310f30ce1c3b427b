// What the table's FdWrite and SigmaskArg columns mean for one call: the
// bytes a writer sent to its descriptor (echoed by `replay -a` and hashed by
// the recorder), and the signal mask a waiting syscall installs.
#include <algorithm>

#include "core/syscall_table.h"
#include "core/tracee_abi.h"

namespace rr {

namespace {

// Appends the first `nbytes` bytes of the iovec array, in order, the way the
// kernel consumes it.
bool append_iov(SyscallMemReader& mem, uint64_t iov_addr, uint64_t iovcnt, uint64_t nbytes, std::string& out) {
  if (nbytes == 0) return true;
  if (iov_addr == 0 || iovcnt == 0 || iovcnt > kMaxIov) return false;
  std::vector<TraceeIovec> iov(iovcnt);
  if (!mem.read(RemotePtr<>(iov_addr), iov.data(), iovcnt * sizeof(TraceeIovec))) return false;
  for (const TraceeIovec& v : iov) {
    if (nbytes == 0) break;
    uint64_t n = std::min(nbytes, v.len);
    size_t at = out.size();
    out.resize(at + n);
    if (n > 0 && !mem.read(RemotePtr<>(v.base), out.data() + at, n)) return false;
    nbytes -= n;
  }
  return nbytes == 0;
}

bool append_msghdr(SyscallMemReader& mem, uint64_t msg_addr, uint64_t nbytes, std::string& out) {
  TraceeMsghdr msg;
  if (msg_addr == 0 || !mem.read(RemotePtr<>(msg_addr), &msg, sizeof msg)) return false;
  return append_iov(mem, msg.iov, msg.iovlen, nbytes, out);
}

}  // namespace

bool written_bytes(const SyscallArgs& call, SyscallMemReader& mem, std::string& out) {
  out.clear();
  const SyscallDesc* desc = syscall_desc(call.nr);
  if (desc == nullptr || !desc->write.writes() || call.failed()) return false;
  const FdWrite& w = desc->write;
  uint64_t ret = static_cast<uint64_t>(call.ret);
  uint64_t buf = w.buf >= 0 ? call.arg[w.buf] : 0;
  uint64_t count = w.count >= 0 ? call.arg[w.count] : 0;
  switch (w.data) {
    case WrittenData::Buffer:
      out.resize(ret);
      return ret == 0 || mem.read(RemotePtr<>(buf), out.data(), ret);
    case WrittenData::Iovec:
      return append_iov(mem, buf, count, ret, out);
    case WrittenData::Msghdr:
      return append_msghdr(mem, buf, ret, out);
    case WrittenData::Mmsghdr:
      // The result counts messages; the kernel stored each one's length in
      // its msg_len, which the recording holds and replay has written back.
      for (uint64_t i = 0; i < std::min({ret, count, kMaxIov}); ++i) {
        RemotePtr<TraceeMmsghdr> entry = RemotePtr<TraceeMmsghdr>(buf) + i;
        uint32_t len = 0;
        if (!mem.read(entry.field(&TraceeMmsghdr::len), &len, sizeof len)) return false;
        if (!append_msghdr(mem, entry.as_int(), len, out)) return false;
      }
      return true;
    case WrittenData::None:
    case WrittenData::FromFd:
    case WrittenData::Resize:
      return false;
  }
  return false;
}

bool installed_sigmask(const SyscallArgs& call, SyscallMemReader& mem, RemotePtr<>* mask, uint64_t* size) {
  const SyscallDesc* desc = syscall_desc(call.nr);
  if (desc == nullptr || desc->wait_mask.mask < 0) return false;
  const SigmaskArg& m = desc->wait_mask;
  uint64_t pair[2] = {call.arg[m.mask], m.size >= 0 ? call.arg[m.size] : 8};
  if (m.indirect && (pair[0] == 0 || !mem.read(RemotePtr<>(pair[0]), pair, sizeof pair))) return false;
  if (pair[0] == 0) return false;
  *mask = RemotePtr<>(pair[0]);
  *size = pair[1];
  return true;
}

}  // namespace rr
