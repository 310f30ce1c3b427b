// Persistent checkpoints: CheckpointWriter walks a live replay into one
// self-contained file of the trace's checkpoints/ folder; CheckpointReader
// validates such a file and hands restore_checkpoint (restore.h) what it needs. The
// file format is documented in checkpoint.capnp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <capnp/serialize.h>

#include "checkpoint/checkpoint.capnp.h"
#include "replay/position.h"
#include "trace/block_stream.h"
#include "util/result.h"
#include "util/scoped_fd.h"

namespace rr {

class ReplaySession;

// 2.0 adds several processes and threads per file and tasks stopped at a
// syscall entry, which a 1.x reader would misread; 1.x files still read.
// 2.1: `position` (gdb checkpoints); 2.2: counted pieces in it. 3.0: whole
// counted pieces (positions) in it, which a 2.x reader would reach one
// execution off; a file without one is still written as 2.x, which every
// 2.x reader reads right. 3.1 and 2.3: TaskState.seccompFiltered (an older
// reader ignores it and may stop with a divergence where a filter failed a
// call, never replay wrong). 3.2 and 2.4: Mapping.noReserve (an older
// reader rebuilds such a mapping without MAP_NORESERVE, which the kernel
// refuses for a large one: the restore fails, never differs). 4.0: shared
// memory objects and shared fd tables (CheckpointInfo.objects,
// ProcessState.objectMaps and fdTableOf), which a 3.x reader would restore
// unshared and empty; a file without them is still written as 3.2 or 2.4.
constexpr uint32_t kCheckpointMajor = 4;
constexpr uint32_t kCheckpointMinor = 0;
constexpr uint32_t kCheckpointMinorOf3 = 2;
constexpr uint32_t kCheckpointMinorOf2 = 4;

// What writing one checkpoint cost and saved.
struct CheckpointStats {
  uint64_t event = 0;
  uint64_t file_bytes = 0;
  uint64_t resident_bytes = 0;   // bytes of tracee memory present (resident or swapped) when written
  uint64_t pages_stored = 0;     // distinct pages written to the file
  uint64_t pages_zero = 0;       // skipped: all zero, or never touched
  uint64_t pages_backed = 0;     // skipped: identical to the mapped file in the trace
  uint64_t pages_duplicate = 0;  // stored once for several addresses
  double seconds = 0;
  std::string path;
};

// The checkpoints/ folder of a trace and the file name of one checkpoint.
std::string checkpoints_dir(const std::string& trace_dir);
std::string checkpoint_path(const std::string& trace_dir, uint64_t event);

// Saves the current state of `session` (which must be able to checkpoint)
// under a temporary name, fsyncs it and renames it into place.
Result<CheckpointStats> write_checkpoint(ReplaySession& session, Codec codec);
// The same, into `path`, with an optional point inside the next event
// (`position`, see Mark). Without `durable` the file is not fsynced (for
// snapshots that live as long as a gdb session).
Result<CheckpointStats> write_checkpoint_to(ReplaySession& session, Codec codec, const std::string& path,
                                            const Mark* position, bool durable);
// The point inside the event a checkpoint file was taken at.
Mark checkpoint_position(ckpt::CheckpointInfo::Reader info);

// Removes the temporary files of writers that died (kill -9, a crash)
// before renaming them: the writer's pid (in the name) is gone and the file
// has not changed for 10 s (a writer in another PID namespace or on another
// host keeps its file fresh). Returns how many it removed.
int remove_stale_temporaries(const std::string& trace_dir);

// One checkpoint file as listed: its header fields, or the reason it cannot be used.
struct CheckpointEntry {
  uint64_t event = 0;
  std::string path;
  uint64_t bytes = 0;
  uint32_t major = 0, minor = 0;
  uint64_t created_ns = 0;
  std::string problem;  // empty when the header is valid for this trace
};

// Every *.rrcp file of the trace, sorted by event. `uuid` is the trace's.
std::vector<CheckpointEntry> list_checkpoints(const std::string& trace_dir, const std::string& uuid);

class CheckpointReader {
 public:
  // Opens and validates the header and the info message (checksum, version,
  // trace id). Page blocks are checked when read.
  static Result<std::unique_ptr<CheckpointReader>> open(const std::string& path, const std::string& uuid);
  ckpt::CheckpointInfo::Reader info() const { return info_; }
  // Decompresses block `index` into `out` after checking its checksum.
  // Safe to call from several threads, each with its own `scratch`.
  Status read_block(uint32_t index, std::vector<uint8_t>& out, std::vector<uint8_t>& scratch) const;
  const std::string& path() const { return path_; }

 private:
  CheckpointReader() = default;
  std::string path_;
  ScopedFd fd_;
  uint64_t file_size_ = 0;
  kj::Array<capnp::word> words_;
  std::unique_ptr<capnp::FlatArrayMessageReader> message_;
  ckpt::CheckpointInfo::Reader info_;
};

}  // namespace rr
