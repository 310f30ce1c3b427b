// rr dump [TRACE]: every event of a trace, one line each, for people.
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "cli/command.h"
#include "core/registers.h"
#include "core/syscall_table.h"
#include "preload/syscall_buffer.h"
#include "trace/trace_files.h"

namespace rr {

namespace {

// The calls the syscall buffer recorded before the event, one line.
void print_buffered(trace::Frame::Reader f) {
  auto bytes = f.getSyscallBuffer();
  size_t count = 0;
  printf("  buffered before it:");
  for (size_t at = 0; at + sizeof(rr_buffer_record) <= bytes.size(); ++count) {
    rr_buffer_record rec;
    memcpy(&rec, bytes.begin() + at, sizeof rec);
    if (count < 8) printf(" %s = %" PRId64, syscall_name(rec.number).c_str(), rec.result);
    if (rec.size == 0) break;
    at += rec.size;
  }
  printf(count > 8 ? " ... (%zu calls)\n" : " (%zu calls)\n", count);
}

void print_frame(trace::Frame::Reader f) {
  if (f.hasSyscallBuffer()) print_buffered(f);
  printf("event %" PRIu64 " tid %d ", f.getEvent(), f.getTid());
  switch (f.which()) {
    case trace::Frame::EXEC: {
      auto img = f.getExec();
      printf("exec %s (%u mappings, %u pages)\n", img.getExePath().cStr(), img.getMappings().size(), img.getPages().size());
      break;
    }
    case trace::Frame::SYSCALL: {
      auto sc = f.getSyscall();
      Registers r = regs_from_capnp(sc.getEntryRegs());
      printf("syscall %s(0x%llx, 0x%llx, 0x%llx, 0x%llx, 0x%llx, 0x%llx) = %" PRId64, syscall_name(sc.getNumber()).c_str(),
             (unsigned long long)r.arg(0), (unsigned long long)r.arg(1), (unsigned long long)r.arg(2),
             (unsigned long long)r.arg(3), (unsigned long long)r.arg(4), (unsigned long long)r.arg(5), sc.getResult());
      uint64_t bytes = 0;
      for (auto w : sc.getWrites()) bytes += w.getData().size();
      if (sc.getWrites().size()) printf(" [%u writes, %" PRIu64 " bytes]", sc.getWrites().size(), bytes);
      if (sc.getEchoFd()) printf(" [echo fd %d]", sc.getEchoFd());
      if (sc.getHasMap() && sc.getMap().getFile().size()) printf(" [maps %s]", sc.getMap().getFile().cStr());
      if (sc.hasImage()) printf(" [new image of %s]", sc.getImage().getExePath().cStr());
      if (sc.getCloneFlags()) printf(" [clone flags 0x%" PRIx64 "]", sc.getCloneFlags());
      printf(" rip 0x%llx\n", (unsigned long long)r.ip().as_int());
      break;
    }
    case trace::Frame::SYSCALL_ENTRY: {
      auto ev = f.getSyscallEntry();
      Registers r = regs_from_capnp(ev.getRegs());
      printf("syscall entry %s, returns later", syscall_name(ev.getNumber()).c_str());
      if (ev.getChildTid()) printf(" [new task %d]", ev.getChildTid());
      printf(" rip 0x%llx\n", (unsigned long long)r.ip().as_int());
      break;
    }
    case trace::Frame::SIGNAL: {
      auto ev = f.getSignal();
      Registers r = regs_from_capnp(ev.getRegs());
      printf("signal %s (%d) %s%s rip 0x%llx\n", strsignal(ev.getSigno()), ev.getSigno(),
             ev.getSynchronous() ? "synchronous" : "asynchronous", ev.getDeliver() ? "" : " suppressed",
             (unsigned long long)r.ip().as_int());
      break;
    }
    case trace::Frame::RDTSC: {
      auto ev = f.getRdtsc();
      Registers r = regs_from_capnp(ev.getRegs());
      printf("%s = 0x%" PRIx64 " rip 0x%llx\n", ev.getRandom() ? "rdrand/rdseed" : ev.getRdtscp() ? "rdtscp" : "rdtsc", ev.getTsc(),
             (unsigned long long)r.ip().as_int());
      break;
    }
    case trace::Frame::PROGRESS: {
      auto ev = f.getProgress();
      Registers r = regs_from_capnp(ev.getRegs());
      if (ev.getSpin())
        printf("progress spin site rip 0x%llx\n", (unsigned long long)r.ip().as_int());
      else if (ev.getPoll())
        printf("progress poll site rip 0x%llx\n", (unsigned long long)r.ip().as_int());
      else
        printf("progress trap after %" PRIu64 " counted branches rip 0x%llx\n", ev.getTicks(),
               (unsigned long long)r.ip().as_int());
      break;
    }
    case trace::Frame::EXIT: {
      auto ev = f.getExit();
      if (ev.getKilledBy())
        printf("exit killed by %s (%d)\n", strsignal(ev.getKilledBy()), ev.getKilledBy());
      else
        printf("exit status %d\n", ev.getExitCode());
      break;
    }
  }
  if (f.hasLockedBuffers()) {
    printf("  syscall buffer locked for");
    for (int32_t tid : f.getLockedBuffers()) printf(" %d", tid);
    printf("\n");
  }
}

}  // namespace

int cmd_dump(const Args& args) {
  std::string trace;
  for (const std::string& a : args) {
    if (int status = take_trace_arg("dump", a, trace)) return status;
  }
  auto reader = TraceReader::open(resolve_trace_dir(trace));
  if (!reader.ok()) return fail(reader.error().message);
  auto h = reader.value()->header();
  printf("trace format %u.%u, program %s", h.getFormatMajor(), h.getFormatMinor(), h.getExePath().cStr());
  if (h.getChaos()) printf(", chaos mode with seed %llu", (unsigned long long)h.getChaosSeed());
  printf("\n");
  uint64_t last = 0;
  for (;;) {
    auto next = reader.value()->next();
    if (!next.ok()) return fail(next.error().message);
    if (!next.value()) break;
    print_frame(next.value()->frame());
    last = next.value()->frame().getEvent();
  }
  // What it holds is printed; that it is not all the recording saw is an error.
  if (!reader.value()->finished()) return fail(reader.value()->unfinished_message(last));
  return 0;
}

}  // namespace rr
