// rr create-checkpoints [-i N] [-s EVT] [-e EVT] [--codec zstd|zlib|none] [--full] [-j N] [TRACE]
//
// Replays the trace and writes a checkpoint every N events. With -j N the
// stretches between the checkpoints the trace already has (segments) are
// replayed by up to N processes at once, each from the checkpoint its
// segment starts at.
#include <cinttypes>
#include <cstdio>

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "checkpoint/checkpoint.h"
#include "cli/checkpoint_series.h"
#include "cli/command.h"
#include "trace/trace_files.h"

namespace rr {

int cmd_create_checkpoints(const Args& args) {
  unsigned long long interval = 0, start = 1, end = 0, jobs = 1;
  bool interval_given = false;
  SeriesPlan plan;
  std::string trace;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto need = [&](unsigned long long& v) {
      if (i + 1 >= args.size() || !parse_event(args[i + 1], v)) return false;
      ++i;
      return true;
    };
    if (a == "-i" || a == "--interval") {
      if (!need(interval)) return fail("-i needs a number of events");
      if (interval == 0) return fail("-i 0 is not an interval");
      interval_given = true;
    } else if (a == "-s" || a == "--start") {
      if (!need(start)) return fail("-s needs an event number");
    } else if (a == "-e" || a == "--end") {
      if (!need(end)) return fail("-e needs an event number");
    } else if (a == "-j" || a == "--jobs") {
      if (!need(jobs) || jobs == 0 || jobs > 256) return fail("-j needs a number of processes from 1 to 256");
    } else if (a == "--full") {
      plan.full = true;
    } else if (a == "--codec") {
      if (i + 1 >= args.size()) return fail("--codec needs zstd, zlib or none");
      auto c = parse_codec(args[++i]);
      if (!c.ok()) return fail(c.error().message);
      plan.codec = c.value();
    } else if (int status = take_trace_arg("create-checkpoints", a, trace)) {
      return status;
    }
  }
  plan.dir = resolve_trace_dir(trace);
  uint64_t last_ev = 0;
  std::string uuid;
  Status read = read_series_trace(plan.dir, &last_ev, &uuid, &plan.exit_start);
  if (!read.ok()) return fail(read.error().message);
  if (end == 0 || end > last_ev) end = last_ev;
  if (start < 1) start = 1;
  if (start > end) return fail("-s " + std::to_string(start) + " is past the end (" + std::to_string(end) + ")");
  if (!interval_given) interval = std::max<uint64_t>(1, (end - start + 1) / 10);
  remove_stale_temporaries(plan.dir);
  // The requested points: every `interval` events from `start`.
  std::vector<RequestedPoint> grid;
  for (uint64_t g = start; g <= end; g += interval) {
    grid.push_back({g, g + std::min<uint64_t>(interval, UINT64_MAX - g)});
    if (interval > end - g) break;
  }
  auto t0 = std::chrono::steady_clock::now();
  size_t segment_count = 1;
  Result<SeriesTally> tally = write_series(plan, uuid, grid, end, jobs > 1 ? (unsigned)jobs : 0, &segment_count);
  if (!tally.ok()) return fail(tally.error().message);
  if (tally->failed_segments)
    return fail(std::to_string(tally->failed_segments) + " of " + std::to_string(segment_count) +
                " segments failed (see above)");
  const SeriesTally& t = tally.value();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  printf("wrote %" PRIu64 " checkpoints (%" PRIu64 " incremental), %" PRIu64
         " bytes, %.3f bytes per resident byte, %.2f s (%.2f s writing, %.0f MB/s of resident memory)\n",
         t.written, t.incremental, t.bytes, t.resident ? double(t.bytes) / double(t.resident) : 0.0, secs, t.write_seconds,
         t.write_seconds > 0 ? t.resident / 1e6 / t.write_seconds : 0.0);
  if (t.unwritten)
    printf("write tracking: %" PRIu64 " of the %" PRIu64 " resident bytes were unchanged since the checkpoint before, not read\n",
           t.unwritten, t.resident);
  printf("requested %zu (every %llu events from %llu to %llu), achieved %" PRIu64, grid.size(), interval, start, end, t.achieved);
  if (t.in_exit)
    printf(" (%" PRIu64 " in the program's exit, from event %" PRIu64 ", by the checkpoint at %" PRIu64 " before it)", t.in_exit,
           t.before_exit + 1, t.before_exit);
  printf("\n");
  if (jobs > 1) printf("replayed %zu segments between existing checkpoints, up to %llu at once\n", segment_count, jobs);
  return 0;
}

}  // namespace rr
