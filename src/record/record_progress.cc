// RecordSession, the software progress counter (docs/progress-counter.md):
// rewriting the initial executable's branches, arming the counter at the
// start of each stretch of user code, and the trap at the end of a
// timeslice, where the recorder switches threads or delivers a held signal
// and writes a ProgressEvent that replay runs to.
#include <csignal>

#include "core/progress_counter.h"
#include "core/remote_syscalls.h"
#include "record/record_session.h"
#include "trace/fpu_digest.h"

namespace rr {

Status RecordSession::install_progress_counter(RecordTask& rt, trace::ExecImage::Builder out) {
  Task& t = *rt.task;
  RR_ASSIGN_OR_RETURN(CounterSetup setup, plan_counter(t));
  {
    RemoteSyscalls rs(t);
    RR_TRY(install_counter(t, rs, setup));
    rt.held.insert(rt.held.end(), rs.stashed_signals().begin(), rs.stashed_signals().end());
  }
  counter_setup_to_capnp(setup, out.initProgressCounter());
  RR_LOG("progress counter: %zu branches counted, %zu left uncounted in [0x%llx, 0x%llx)", setup.plan.counted,
         setup.plan.uncovered, (unsigned long long)setup.text_start, (unsigned long long)setup.text_end);
  return {};
}

// A stretch starts at the first resume after one of the thread's events;
// replay arms the counter at the same point (the thread's previous event).
// Resumes inside a stretch (after a signal held for later) keep the count.
void RecordSession::arm_for_stretch(RecordTask& rt) {
  if (!progress_counter_ || rt.in_syscall || rt.counter_armed_at == next_event_) return;
  rt.counter_armed_at = next_event_;
  rt.ticks_before = 0;
  rt.ticks_armed = arm_counter(*rt.task, timeslice_) ? timeslice_ : 0;
}

Status RecordSession::on_counter_trap(RecordTask& rt, const Registers& regs) {
  Task& t = *rt.task;
  uint64_t ticks = rt.ticks_before + rt.ticks_armed;
  if (!others_ready(rt) && rt.held.empty()) {
    // Nobody waits for it: the stretch goes on, and counts on.
    rt.ticks_before = ticks;
    rt.ticks_armed = arm_counter(t, timeslice_) ? timeslice_ : 0;
    return resume_running(rt);
  }
  capnp::MallocMessageBuilder msg;
  auto frame = msg.initRoot<trace::Frame>();
  frame.setEvent(next_event_);
  frame.setTid(t.tid());
  auto ev = frame.initProgress();
  ev.setTicks(ticks);
  regs_to_capnp(regs, ev.initRegs());
  frame.setFpuDigest(fpu_digest(t));
  rt.last_event_regs = regs;
  RR_TRY(finish_frame(msg));
  // A held signal stops the thread again before its next instruction, where
  // on_signal records its delivery at this point.
  inject_held_signals(rt);
  if (others_ready(rt)) {
    rt.state = RecordTask::State::Ready;
    running_ = nullptr;
    return {};
  }
  return resume_running(rt);
}

}  // namespace rr
