// ReplaySession, the syscall buffer's replay side (docs/syscall-buffer.md).
// The preloaded library runs the same code as in recording; the rr page's
// entry makes no syscall here and the library takes each result from the
// record. So before the user code that leads to an event runs, the event's
// records go into the buffer, and at its stop the buffer must hold exactly
// them, rewritten in place by the same calls.
#include <cstddef>
#include <cstring>

#include "core/buffered_records.h"
#include "preload/syscall_buffer.h"
#include "replay/replay_internal.h"
#include "replay/replay_session.h"

namespace rr {

// The recorder's rewrite of the fd gate before the stretch (Frame.fdGate),
// as it was. Once: the event applied again from its start (after a stop
// inside it, or in a copy or restore made there) finds the gate's stamp in
// place, and writing it again would undo the bits the library set since.
// The recorder rewrites the gate only when its stamp changes.
Status ReplaySession::apply_fd_gate(trace::Frame::Reader f) {
  if (!f.hasFdGate() || f.which() == trace::Frame::EXIT) return {};
  auto gate = f.getFdGate();
  if (gate.size() != sizeof(rr_fd_gate))
    return make_error(ErrorKind::Corrupt, "trace is corrupt: event " + std::to_string(f.getEvent()) + " holds an fd gate of " +
                                              std::to_string(gate.size()) + " bytes");
  ReplayTask* rt = find_task(RecordedTid{f.getTid()});
  if (!rt || !rt->task->alive() || rt->exiting) return {};  // apply() reports a missing task
  uint64_t stamp[2];
  static_assert(offsetof(rr_fd_gate, stamp) == 0 && sizeof(stamp) == sizeof(rr_fd_gate::stamp));
  if (rt->task->read_mem(RemotePtr<>(RR_FD_GATE_ADDR), stamp, sizeof stamp) && memcmp(stamp, gate.begin(), sizeof stamp) == 0)
    return {};
  if (!rt->task->try_write_mem(RemotePtr<>(RR_FD_GATE_ADDR), gate.begin(), gate.size()))
    return divergence(f, "cannot write the syscall buffer's fd gate as the recorder did (the process has no buffer)");
  return {};
}

// A frame without records leaves `available` at 0, where the previous
// event's stop (or the image's restore) put it, so the library's calls go
// the traced way as they did. Applied again after a stop inside the event,
// this writes the same bytes and leaves `used`, the library's progress, alone.
void ReplaySession::feed_buffered_records(trace::Frame::Reader f) {
  if (!f.hasSyscallBuffer()) return;
  ReplayTask* rt = find_task(RecordedTid{f.getTid()});
  if (!rt) return;  // apply() reports the missing task
  auto bytes = f.getSyscallBuffer();
  if (bytes.size() > RR_BUFFER_DATA_SIZE) return;  // finish_buffered_records reports it
  Task& t = *rt->task;
  t.write_mem(RemotePtr<>(RR_BUFFER_ADDR + sizeof(rr_buffer_header)), bytes.begin(), bytes.size());
  uint32_t available = (uint32_t)bytes.size();
  t.write_mem(RemotePtr<>(RR_BUFFER_ADDR + offsetof(rr_buffer_header, available)), &available, sizeof available);
}

// The buffers the recorder locked during this event (Frame.lockedBuffers):
// from here on the library of those processes returns at the lock, as it
// did while recording, instead of finding no records.
void ReplaySession::lock_buffers(trace::Frame::Reader f) {
  if (!f.hasLockedBuffers()) return;
  for (int32_t tid : f.getLockedBuffers()) {
    ReplayTask* rt = find_task(RecordedTid{tid});
    if (!rt) continue;
    uint32_t magic = 0;
    Task& t = *rt->task;
    if (!t.read_mem(RemotePtr<>(RR_BUFFER_ADDR), &magic, sizeof magic) || magic != RR_BUFFER_MAGIC) continue;
    uint32_t locked = 1;
    t.write_mem(RemotePtr<>(RR_BUFFER_ADDR + offsetof(rr_buffer_header, locked)), &locked, sizeof locked);
  }
}

Status ReplaySession::finish_buffered_records(trace::Frame::Reader f, ReplayTask& rt) {
  if (!f.hasSyscallBuffer()) return {};
  // Applied again after a stop that came after this check (a process's
  // exit stop): it was done, the buffer emptied, the fd changes made.
  if (inside_ && inside_->records_finished) return {};
  auto want = f.getSyscallBuffer();
  if (want.size() > RR_BUFFER_DATA_SIZE)
    return make_error(ErrorKind::Corrupt, "trace is corrupt: event " + std::to_string(f.getEvent()) + " holds " +
                                              std::to_string(want.size()) + " bytes of syscall buffer records");
  Task& t = *rt.task;
  rr_buffer_header h;
  if (!t.read_mem(RemotePtr<>(RR_BUFFER_ADDR), &h, sizeof h) || h.magic != RR_BUFFER_MAGIC)
    return divergence(f, "the task has no syscall buffer where the recording had records");
  if (h.used != want.size())
    return divergence(f, "the syscall buffer's calls used " + std::to_string(h.used) + " bytes of records, the recording " +
                             std::to_string(want.size()));
  // Read back into bytes kept from event to event: a full buffer costs one
  // copy and no fresh pages.
  std::string& got = buffer_read_back_;
  got.resize(want.size());
  t.read_exact(RemotePtr<>(RR_BUFFER_ADDR + sizeof h), got.data(), want.size());
  if (memcmp(got.data(), want.begin(), want.size()) != 0) {
    size_t at = 0;
    while (got[at] == (char)want[at]) ++at;
    return divergence(f, "the syscall buffer's calls differ from the recording's at byte " + std::to_string(at) +
                             " of its records");
  }
  // The opens and closes among them change the fd table as they did for the
  // recorder (which took them out of the buffer before this event's call).
  auto records = parse_buffered_records(std::string_view(got.data(), got.size()));
  if (!records.ok()) return divergence(f, records.error().message);
  apply_buffered_fd_changes(rt.fds, records.value());
  // Emptied as the recorder did; and until the next event's records are
  // fed, none are left: the library's next call is traced, as it was.
  uint32_t empty[2] = {0, 0};
  static_assert(offsetof(rr_buffer_header, available) == offsetof(rr_buffer_header, used) + sizeof(uint32_t));
  t.write_mem(RemotePtr<>(RR_BUFFER_ADDR + offsetof(rr_buffer_header, used)), empty, sizeof empty);
  if (inside_) inside_->records_finished = true;
  return {};
}

}  // namespace rr
