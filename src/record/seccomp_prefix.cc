#include "record/seccomp_prefix.h"

#include "core/rr_page.h"
#include "record/record_session.h"

#include <linux/seccomp.h>
#include <cstddef>

namespace rr {

std::vector<sock_filter> prefix_filter(const std::vector<sock_filter>& program, uint64_t ip) {
  constexpr uint32_t kIpLow = offsetof(struct seccomp_data, instruction_pointer);
  constexpr uint32_t kIpHigh = kIpLow + 4;
  std::vector<sock_filter> out = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIpLow),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)ip, 0, 3),  // no: to the program's start
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIpHigh),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(ip >> 32), 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_IMM, 0),
      BPF_STMT(BPF_LDX | BPF_IMM, 0),
  };
  static_assert(kFilterPrefixLength == 7);
  out.insert(out.end(), program.begin(), program.end());
  return out;
}

// At the entry of a call that installs a filter: the filter goes in behind
// the prefix, from the scratch page (restore_moved_filter puts the
// program's argument and the page back at the exit).
Status RecordSession::move_filter(RecordTask& rt, const SyscallDesc& desc) {
  Task& t = *rt.task;
  SyscallArgs call = syscall_args(rt.entry_regs.syscallno(), rt.entry_regs);
  int arg = desc.filter_arg(call);
  if (arg < 0) return {};
  // The program's filter would judge the buffer's calls too, and one that
  // refuses a call keeps it from the recorder: the process's calls all go
  // the traced way from now on (a filter given to every thread with
  // SECCOMP_FILTER_FLAG_TSYNC included).
  for (RecordedTid tid : threads_of(rt.tgid))
    if (RecordTask* o = find_task(tid)) stop_buffering(*o);
  // What the kernel would refuse (an unreadable or empty program) it may
  // refuse as it likes: the call runs unchanged.
  struct sock_fprog prog = {};
  if (!t.read_mem(RemotePtr<>(call.arg[arg]), &prog, sizeof prog) || prog.len == 0 || prog.len > BPF_MAXINSNS) return {};
  std::vector<sock_filter> insns(prog.len);
  if (!t.read_mem(RemotePtr<>((uint64_t)(uintptr_t)prog.filter), insns.data(), insns.size() * sizeof(sock_filter)))
    return {};
  std::vector<sock_filter> full = prefix_filter(insns, kRrSyscallInsn + 2);
  size_t bytes = sizeof(sock_fprog) + full.size() * sizeof(sock_filter);
  if (full.size() > BPF_MAXINSNS || bytes > kRrScratchSize)
    return make_error(ErrorKind::Unsupported, "a seccomp filter of " + std::to_string(prog.len) +
                                                  " instructions is not supported yet (at most " +
                                                  std::to_string((kRrScratchSize - sizeof(sock_fprog)) / sizeof(sock_filter) -
                                                                 kFilterPrefixLength) + ")");
  rt.moved_filter.scratch = t.read_bytes(RemotePtr<>(kRrScratch), bytes);
  struct sock_fprog moved = {(unsigned short)full.size(), (sock_filter*)(uintptr_t)(kRrScratch + sizeof(sock_fprog))};
  t.write_mem(RemotePtr<>(kRrScratch), &moved, sizeof moved);
  t.write_mem(RemotePtr<>(kRrScratch + sizeof(sock_fprog)), full.data(), full.size() * sizeof(sock_filter));
  Registers r = t.regs();
  r.set_arg(arg, kRrScratch);
  t.set_regs(r);
  rt.moved_filter.arg = arg;
  rt.moved_filter.value = call.arg[arg];
  return {};
}

void RecordSession::restore_moved_filter(RecordTask& rt) {
  if (rt.moved_filter.arg < 0) return;
  Task& t = *rt.task;
  Registers r = t.regs();
  r.set_arg(rt.moved_filter.arg, rt.moved_filter.value);
  t.set_regs(r);
  t.write_mem(RemotePtr<>(kRrScratch), rt.moved_filter.scratch.data(), rt.moved_filter.scratch.size());
  rt.moved_filter.arg = -1;
  rt.moved_filter.scratch.clear();
}

}  // namespace rr
