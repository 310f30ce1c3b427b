// What a syscall wrote into the tracee, from its row's rules (core/
// syscall_rows.h) and custom function, and what recording refuses at its
// entry.
#include "core/syscall_table.h"

#include <algorithm>
#include <cerrno>

#include "core/syscall_custom.h"
#include "core/syscall_rows.h"

namespace rr {

namespace {

using namespace syscall_rows;

bool applies(When when, const SyscallArgs& call) {
  switch (when) {
    case When::Success:
      return !call.failed();
    case When::SuccessOrInterrupted:
      return !call.failed() || syscall_custom::interrupted(call.ret);
    case When::Interrupted:
      return syscall_custom::interrupted(call.ret);
    case When::UnlessFault:
      return call.ret != -EFAULT;
  }
  return false;
}

void add(std::vector<MemRange>& out, uint64_t addr, uint64_t len) {
  if (addr != 0 && len != 0) out.push_back({RemotePtr<>(addr), len});
}

void apply(const OutSpec& spec, const SyscallArgs& call, SyscallMemReader& mem,
           std::vector<MemRange>& out) {
  if (spec.rule == Rule::None || !applies(spec.when, call)) return;
  uint64_t addr = call.arg[spec.ptr];
  if (addr == 0 && spec.rule != Rule::NameLen) return;
  uint64_t ret = call.ret > 0 ? static_cast<uint64_t>(call.ret) : 0;
  uint64_t size_arg = spec.size >= 0 ? call.arg[spec.size] : 0;
  uint64_t capped_ret = spec.size >= 0 ? std::min(ret, size_arg) : ret;
  uint64_t len = 0;
  switch (spec.rule) {
    case Rule::None:
      return;
    case Rule::Fixed:
      len = spec.n;
      break;
    case Rule::Arg:
      len = size_arg;
      break;
    case Rule::Ret:
      len = capped_ret;
      break;
    case Rule::ArgTimes:
      len = size_arg * spec.n;
      break;
    case Rule::RetTimes:
      len = capped_ret * spec.n;
      break;
    case Rule::LenAt:
    case Rule::NameLen: {
      uint32_t value = 0;
      if (size_arg == 0 || !mem.read(RemotePtr<>(size_arg), &value, sizeof value)) return;
      add(out, size_arg, sizeof value);
      len = spec.n > 0 ? std::min<uint64_t>(value, spec.n) : value;
      break;
    }
  }
  add(out, addr, len);
}

std::string not_supported(int64_t nr) {
  return "syscall " + syscall_name(nr) + " (" + std::to_string(nr) + ") is not supported yet";
}

}  // namespace

std::string refused_at_entry(const SyscallArgs& call, SyscallMemReader& mem, pid_t tid) {
  const Row* row = find_row(call.nr);
  return row && row->desc.refuse ? row->desc.refuse(call, mem, tid) : std::string();
}

std::string syscall_outputs(const SyscallArgs& call, SyscallMemReader& mem,
                            std::vector<MemRange>& out) {
  const Row* row = find_row(call.nr);
  if (row == nullptr || row->desc.policy == ReplayPolicy::Unsupported) {
    return not_supported(call.nr);
  }
  for (const OutSpec& spec : row->out) apply(spec, call, mem, out);
  if (row->custom == nullptr) return {};
  if (call.failed() && row->failure == Failure::WritesNothing) return {};
  return row->custom(call, mem, out);
}

}  // namespace rr
