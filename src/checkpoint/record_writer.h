// Checkpoints copied from the recorded processes: `rr record
// --checkpoint-every` with RR_CHECKPOINT_WRITER=copy writes each one from
// the recorder's own processes at the point (RecordPoint), instead of a
// replay that follows the recording (docs/record-checkpoints.md).
#pragma once

#include "checkpoint/checkpoint.h"
#include "record/record_session.h"

namespace rr {

// Starts the checkpoint of `point.event` in the trace's checkpoints/
// folder, incremental on `base` if given (kept alive by the caller until
// the job has run): reads the threads, the layout and rr's own bytes from
// the live processes now, copies each process (RecordPoint::copy_of), and
// returns the job that reads the pages from the copies and writes the
// file (start_checkpoint_from). An Unsupported error: the processes hold
// something this writer does not save at this event (shared memory, a
// writable shared file mapping, a local descriptor table, memory a fork
// does not copy...); the point waits for a later event.
Result<CheckpointJob> start_recording_checkpoint(const RecordPoint& point, Codec codec,
                                                 const CheckpointReader* base = nullptr);

}  // namespace rr
