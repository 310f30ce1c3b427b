// The recorder's own state at an event in `rr state`'s form (replay/state.h),
// for tests: with RR_RECORD_STATE=N:DIR the recorder writes DIR/<event>
// every N events, once the event's frame is written, and a test compares it
// with what `rr state` prints for the same event of the finished trace. It is
// the state a writer of checkpoints that copies the recorded processes
// (instead of replaying them) would have to save: the same memory, named by
// the trace's files, the same registers, fd table and counters (derived from
// the frames by ReplayCounterModel). Where the recorder cannot see that
// state (a thread inside the kernel, an emulated file, the program's end)
// it writes DIR/<event>.skip with the reason instead.
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/progress_counter.h"
#include "core/rr_page.h"
#include "preload/syscall_buffer.h"
#include "record/record_session.h"
#include "trace/counter_model.h"
#include "core/state_view.h"
#include "util/io.h"

namespace rr {

Result<RecordSession::StateOption> RecordSession::state_option() {
  StateOption o;
  const char* opt = getenv("RR_RECORD_STATE");
  if (!opt || !*opt) return o;
  char* end = nullptr;
  errno = 0;
  unsigned long long every = opt[0] >= '0' && opt[0] <= '9' ? strtoull(opt, &end, 10) : 0;
  if (every == 0 || errno == ERANGE || every > (1ull << 40) || !end || *end != ':' || !end[1])
    return make_error(std::string("RR_RECORD_STATE must be N:DIR (every N events, into the folder DIR), not ") + opt);
  struct stat st;
  if (stat(end + 1, &st) != 0 || !S_ISDIR(st.st_mode) || access(end + 1, W_OK) != 0)
    return make_error(std::string("RR_RECORD_STATE: ") + (end + 1) + " is not a folder rr can write");
  o.every = every;
  o.dir = end + 1;
  // Not the program's: a recording inside it would write there too.
  unsetenv("RR_RECORD_STATE");
  return o;
}

void RecordSession::use_state_option(const StateOption& o) {
  if (o.every == 0) return;
  state_every_ = o.every;
  state_dir_ = o.dir;
  counter_model_ = std::make_unique<ReplayCounterModel>();
}

void RecordSession::note_frame_for_state(trace::Frame::Reader f) {
  if (!counter_model_) return;
  counter_model_->apply(f);
  if (f.getEvent() % state_every_ != 0) return;
  std::string reason;
  std::string text;
  if (f.which() == trace::Frame::SIGNAL)
    reason = "a signal's delivery: its event is written once the handler is entered, where replay stands at the delivery stop";
  else
    text = state_now(f.getEvent(), reason);
  std::string path = state_dir_ + "/" + std::to_string(f.getEvent()) + (reason.empty() ? "" : ".skip");
  std::string body = reason.empty() ? text : reason + "\n";
  Status written = write_file_atomic(path, body.data(), body.size());
  if (!written.ok()) fatal("RR_RECORD_STATE: " + written.error().message);
}

bool RecordSession::arm_counter_tracked(RecordTask& rt, uint64_t ticks) {
  if (counter_model_) {
    if (std::optional<uint64_t> before = counter_remaining(*rt.task)) *rt.counter_delta += *before - ticks;
  }
  return arm_counter(*rt.task, ticks);
}

namespace {

// Replay's values of rr's own bytes where the two roads differ by design: the
// rr page's buffered entry (no syscall in replay) and road flag, the
// buffer's `used` and `available` (0 between events in replay), and the progress
// counter's slot (replay arms it only for a trap's count).
MemoryOverlay replay_view_of_rr_pages(Task& t, uint64_t counter_delta) {
  MemoryOverlay overlay;
  rr_buffer_header h;
  if (t.read_mem(RemotePtr<>(RR_BUFFER_ADDR), &h, sizeof h)) {
    overlay[RR_BUFFERED_ENTRY].assign(reinterpret_cast<const char*>(kRrBufferedEntryReplay), sizeof kRrBufferedEntryReplay);
    overlay[RR_ROAD_FLAG_ADDR].assign(1, (char)RR_ROAD_REPLAY);
    // Replay's `used` and `available` are 0 between events: records another
    // process made since its last event are fed to replay at its next one.
    overlay[RR_BUFFER_ADDR + offsetof(rr_buffer_header, used)].assign(2 * sizeof(uint32_t), '\0');
  }
  if (std::optional<uint64_t> v = counter_remaining(t)) {
    uint64_t replay_value = *v + counter_delta;
    overlay[kCounterSlots.remaining].assign(reinterpret_cast<const char*>(&replay_value), sizeof replay_value);
  }
  return overlay;
}

}  // namespace

std::string RecordSession::state_now(uint64_t event, std::string& reason) {
  StateView v;
  v.event = event;
  v.counters = counter_model_->counters();
  if (initial_ended_) {
    reason = "the program's first process has ended";
    return {};
  }
  std::string trace_dir = writer_->dir();
  for (const auto& [tid, rt] : tasks()) {
    if (!rt->task->alive() || rt->exit_recorded) continue;
    if (rt->state == RecordTask::State::InKernel || rt->in_syscall) {
      reason = "task " + std::to_string(tid.value) + " is inside a syscall";
      return {};
    }
    const char* waits = nullptr;
    switch (rt->state) {
      case RecordTask::State::Ready:
      case RecordTask::State::Running:
      case RecordTask::State::Unprocessed:
      case RecordTask::State::InKernel:
        break;
      case RecordTask::State::GroupStopped: waits = "in a group stop"; break;
      case RecordTask::State::EchoWait: waits = "waiting for another thread's write to the terminal"; break;
      case RecordTask::State::TracerStopped: waits = "in a stop of its tracer's"; break;
      case RecordTask::State::TracerWaiting: waits = "waiting for its tracees"; break;
      case RecordTask::State::Spinning: waits = "parked at a spin site (in the recorder's pause)"; break;
    }
    if (waits) {
      reason = "task " + std::to_string(tid.value) + " is " + waits;
      return {};
    }
    auto [it, fresh] = v.procs.try_emplace(rt->tgid.value, StateProcess{rt->tgid.value, {}, {}, rt->fds.get()});
    if (fresh) {
      Task& t = *rt->task;
      MappingNamer namer = [&](const MapEntry& e) {
        MappingName n{Backing::Anonymous, e.name, ""};
        if (is_anon_shared(e)) {
          n.name = kAnonSharedMaps;
          n.backing = Backing::Special;
        } else if (is_special_mapping(e)) {
          n.backing = Backing::Special;
        } else if (std::optional<std::string> image = images_.image_named(e.name)) {
          n.backing = Backing::File;
          n.name = n.file = "images/" + *image;
        } else if (e.name.rfind("/SYSV", 0) == 0) {
          if (reason.empty()) reason = "the program maps a System V segment, of which replay maps its own copy";
          return n;
        } else if (e.inode != 0 && !e.name.empty() && e.name[0] == '/' &&
                   !(e.name.rfind("/dev/zero", 0) == 0 && !e.shared)) {
          if (emulated_.count({e.dev, e.inode})) {
            if (reason.empty()) reason = "the program maps " + e.name + ", a file replay emulates";
            return n;
          }
          Result<std::string> stored = files_.store(map_file_path("/proc/" + std::to_string(t.tid()), e), e.name);
          if (!stored.ok()) {
            if (reason.empty()) reason = "cannot name " + e.name + " in the trace: " + stored.error().message;
            return n;
          }
          n.backing = Backing::File;
          n.name = n.file = stored.value();
          n.as_private = true;  // replay maps a copy it does not emulate privately
        } else if (e.inode != 0 && !(e.name.rfind("/dev/zero", 0) == 0 && !e.shared)) {
          n.backing = Backing::Special;
        }
        return n;
      };
      MemoryOverlay overlay = replay_view_of_rr_pages(t, *rt->counter_delta);
      it->second.maps = mapping_states(t, trace_dir, namer, &overlay);
      if (!reason.empty()) return {};
    }
    // A thread parked at a spin site waits in a pause() of the recorder's;
    // replay has it at the site, with the registers put back at its next stop.
    Registers regs = rt->spin_regs ? *rt->spin_regs : rt->task->regs();
    it->second.tasks.push_back({tid.value, regs, fpu_hash(*rt->task), nullptr});
  }
  return format_state(v, false);
}

}  // namespace rr
