#include "checkpoint/record_writer.h"

#include <cstdio>
#include <sys/mman.h>

#include "core/fd_table.h"
#include "util/io.h"

namespace rr {

Result<CheckpointJob> start_recording_checkpoint(const RecordPoint& point, Codec codec, const CheckpointReader* base) {
  auto source = std::make_shared<CheckpointSource>();
  source->trace_dir = point.trace_dir;
  source->uuid = point.uuid;
  source->event = point.event;
  source->next_frame = point.next_frame;
  source->counters = point.counters;
  source->initial_tid = point.initial_tid;
  for (const RecordPoint::Thread& th : point.threads)
    source->tasks.push_back(SourceTask{th.task, th.tgid, false, false, th.altstack_disabled, th.fds});
  std::string at = " at event " + std::to_string(point.event);
  source->file_in_trace = [name = point.name, at](Task& t, const MapEntry& e) -> Result<MappingName> {
    std::string reason;
    MappingName n = name(t, e, reason);
    if (!reason.empty()) return make_error(ErrorKind::Unsupported, reason + at);
    // Written through by the program, and maybe by others: replay emulates
    // such a file once its descriptor is known to write (the shared-files
    // list), which the recording may learn only later.
    if (e.shared && (e.prot & PROT_WRITE))
      return make_error(ErrorKind::Unsupported, "the program maps " + e.name + " shared and writable" + at);
    if (n.backing != Backing::File || n.file.empty())
      return make_error(ErrorKind::Unsupported, "the program maps " + e.name + ", which replay maps from no trace file" + at);
    return n;
  };
  source->exe_in_trace = point.exe_in_trace;
  source->overlay = point.overlay;
  source->calls_inside = point.calls_inside;
  source->interrupted = point.interrupted;
  source->copies_intact = point.copies_intact;
  source->no_fork_copy = [at](const MapEntry& e) -> Status {
    // A copy made by fork lacks what is not copied at a fork, and holds
    // zeros where memory is wiped at one.
    if (e.userfaultfd)
      return make_error(ErrorKind::Unsupported, "the program has memory registered with a userfaultfd" + at);
    if (!e.dontfork && !e.wipeonfork) return {};
    char where[40];
    snprintf(where, sizeof where, "0x%llx", (unsigned long long)e.start.as_int());
    return make_error(ErrorKind::Unsupported, std::string("the program's mapping at ") + where +
                                                  (e.dontfork ? " is not copied at a fork (MADV_DONTFORK)"
                                                              : " is wiped at a fork (MADV_WIPEONFORK)") + at);
  };
  RR_TRY(make_dirs(checkpoints_dir(point.trace_dir)));
  return start_checkpoint_from(source, codec, checkpoint_path(point.trace_dir, point.event), base, point.copy_of);
}

}  // namespace rr
