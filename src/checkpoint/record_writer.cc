#include "checkpoint/record_writer.h"

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
    source->tasks.push_back(SourceTask{th.task, th.tgid, th.held.has_value(), false, th.altstack_disabled, th.fds, th.held});
  std::string at = " at event " + std::to_string(point.event);
  source->file_in_trace = [name = point.name, at](Task& t, const MapEntry& e) -> Result<MappingName> {
    std::string reason;
    MappingName n = name(t, e, reason);
    if (!reason.empty()) return make_error(ErrorKind::Unsupported, reason + at);
    if (n.backing != Backing::File || n.file.empty())
      return make_error(ErrorKind::Unsupported, "the program maps " + e.name + ", which replay maps from no trace file" + at);
    return n;
  };
  source->exe_in_trace = point.exe_in_trace;
  source->overlay = point.overlay;
  source->calls_inside = point.calls_inside;
  source->interrupted = point.interrupted;
  source->copies_intact = point.copies_intact;
  source->asleep = point.asleep;
  source->asleep_intact = point.asleep_intact;
  source->refuse_mapping = [problem_of = point.mapping_problem, at](const MapEntry& e) -> Status {
    std::string problem = problem_of(e);
    if (!problem.empty()) return make_error(ErrorKind::Unsupported, problem + at);
    return {};
  };
  RR_TRY(make_dirs(checkpoints_dir(point.trace_dir)));
  return start_checkpoint_from(source, codec, checkpoint_path(point.trace_dir, point.event), base, point.copy_of);
}

}  // namespace rr
