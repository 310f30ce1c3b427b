// Writing checkpoints by replaying a finished trace to requested points:
// `rr create-checkpoints`, and `rr record --checkpoint-every` for the
// points its copies missed (record_checkpoints.h). Each replay starts from
// the latest usable checkpoint before its first point; with more than one
// process, the stretches between existing checkpoints (segments) are
// replayed at once, each from the checkpoint its segment starts at.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "util/result.h"

namespace rr {

// What was asked: where the trace is and how to write.
struct SeriesPlan {
  std::string dir;
  Codec codec = Codec::Zstd;
  bool full = false;
  // The first event of the program's exit (read_series_trace), 0 if none.
  uint64_t exit_start = 0;
  // Put before a worker's error, to say what it was doing.
  std::string worker_what;
  // No notice of points where nothing can be written (rr record -q).
  bool quiet = false;
};

// A requested point: a checkpoint at an event from `at` up to, not
// including, `until` achieves it.
struct RequestedPoint {
  uint64_t at = 0, until = 0;
};

// What the replays over some requested points wrote. Plain data: a worker
// process hands it to its parent through a pipe.
struct SeriesTally {
  uint64_t written = 0, incremental = 0, bytes = 0, resident = 0, achieved = 0;
  // Of the achieved points, those in the program's exit, stood for by the
  // checkpoint just before it (at `before_exit`).
  uint64_t in_exit = 0, before_exit = 0;
  // Resident bytes write tracking knew unchanged since the checkpoint
  // before (not read).
  uint64_t unwritten = 0;
  // The first point not achieved, 0 if none.
  uint64_t first_missed = 0;
  // Segments whose worker failed (it said why): their points are not
  // achieved, and nothing else of theirs is counted.
  uint64_t failed_segments = 0;
  double write_seconds = 0;
  void add(const SeriesTally& o);
};

// The number of the last event and the trace's id, by reading the event
// stream once; and where the program's exit begins: the first event of the
// run of frames that end a task closing the trace.
Status read_series_trace(const std::string& dir, uint64_t* last, std::string* uuid, uint64_t* exit_start);

// Writes a checkpoint at each point of `points` (in order), or at the first
// event after it where one can be written, never past `end`; each replay
// starts from the latest usable checkpoint at or before its first point.
// With `jobs` 0, one replay in this process, with a progress bar on a
// terminal; else the points are cut into segments at the trace's usable
// checkpoints (`segments`: how many), each replayed by a worker process,
// up to `jobs` at once.
Result<SeriesTally> write_series(const SeriesPlan& plan, const std::string& uuid, const std::vector<RequestedPoint>& points,
                                 uint64_t end, unsigned jobs, size_t* segments);

}  // namespace rr
