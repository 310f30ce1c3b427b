// Persistent checkpoints: CheckpointWriter walks a live replay into one
// self-contained file of the trace's checkpoints/ folder; CheckpointReader
// validates such a file and hands restore_checkpoint (restore.h) what it needs. The
// file format is documented in checkpoint.capnp.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <capnp/serialize.h>

#include "checkpoint/checkpoint.capnp.h"
#include "core/task_state.h"
#include "core/registers.h"
#include "core/state_view.h"
#include "replay/position.h"
#include "trace/block_stream.h"
#include "util/result.h"
#include "util/scoped_fd.h"

namespace rr {

class CheckpointReader;
class FdTable;
class RecordSession;
class RemoteSyscalls;
class ReplaySession;
class SharedObjectWriter;
class Task;
class WriteTracker;

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
// 4.1, 3.3 and 2.5: PageBlock.pageHashes (older readers ignore them). 5.0:
// incremental checkpoints (CheckpointInfo.base, PageRef.inBase), whose
// pages partly live in a full checkpoint: a 4.x reader would miss them.
// 6.0: tick pieces in `position` (Piece.ticks: a gdb checkpoint reached by
// the progress counter's ticks), which a 5.x reader would take for runs to
// no breakpoint; a file without one is still written as 5.0 or older.
// 7.0: memory protection keys (ProcessState.pkeys, Mapping.pkey), which a
// 6.x reader would leave unallocated and the pages untagged, so that an
// access the recording faulted on would not fault; a file without them is
// still written as 6.0 or older.
// 7.1, 6.1, 5.1, 4.2, 3.4 and 2.6: TaskState.altStackNeverSet (an older
// reader drops the alternate signal stack of such a thread, whose signal
// frames then show SS_DISABLE where the recording's showed 0).
constexpr uint32_t kCheckpointMajor = 7;
constexpr uint32_t kCheckpointMinor = 1;
constexpr uint32_t kCheckpointMinorOf6 = 1;
constexpr uint32_t kCheckpointMinorOf5 = 1;
constexpr uint32_t kCheckpointMinorOf4 = 2;
constexpr uint32_t kCheckpointMinorOf3 = 4;
constexpr uint32_t kCheckpointMinorOf2 = 6;

// What writing one checkpoint cost and saved.
struct CheckpointStats {
  uint64_t event = 0;
  uint64_t file_bytes = 0;
  uint64_t resident_bytes = 0;   // bytes of tracee memory present (resident or swapped) when written
  uint64_t pages_stored = 0;     // distinct pages written to the file
  uint64_t pages_zero = 0;       // skipped: all zero, or never touched
  uint64_t pages_backed = 0;     // skipped: identical to the mapped file in the trace
  uint64_t pages_duplicate = 0;  // stored once for several addresses
  uint64_t pages_in_base = 0;    // found in the base checkpoint, not stored again
  uint64_t pages_unwritten = 0;  // not read: write tracking says they hold what the base holds
  uint64_t base_event = 0;       // the base of an incremental checkpoint; 0: a full one
  double seconds = 0;
  std::string path;
  // A usable checkpoint of the same event was under the name already (an
  // earlier run's, or a concurrent writer's that renamed first): it stays,
  // as incremental checkpoints may have been written against it, and this
  // one was dropped. Only event, path, file_bytes and base_event are set.
  bool kept = false;
};

// The checkpoints/ folder of a trace and the file name of one checkpoint.
std::string checkpoints_dir(const std::string& trace_dir);
std::string checkpoint_path(const std::string& trace_dir, uint64_t event);

// What a checkpoint is written from: a replay standing at an event
// (write_checkpoint_to), or the recorder's processes at the event whose
// frame it has just written (write_recording_checkpoint), described as a
// replay has them there.
struct SourceTask {
  Task* task = nullptr;
  RecordedTid tgid;
  bool at_entry = false;           // held at the entry of a blocking call (TaskState.atSyscallEntry)
  bool filtered = false;           // TaskState.seccompFiltered
  bool altstack_disabled = false;  // the kernel keeps SS_DISABLE (ReplayTask::altstack_disabled)
  const FdTable* fds = nullptr;    // its process's fd table as replay tracks it
  // Held inside a blocking call (with at_entry): its state at the entry,
  // given by the source; nothing is read from the thread or run in it.
  std::optional<HeldAtEntry> held;
};
struct CheckpointSource {
  std::string trace_dir, uuid;
  uint64_t event = 0;
  StreamPos next_frame;  // where the events stream's next frame is
  ReplayCounters counters;
  RecordedTid initial_tid;
  bool exited = false;
  int exit_code = 0, killed_by = 0;
  std::vector<SourceTask> tasks;
  // The trace's copy of what a file mapping `e` of `t`'s process maps
  // (MappingName::file, relative to trace_dir; as_private: replay maps it
  // privately), or why it has none.
  std::function<Result<MappingName>(Task& t, const MapEntry& e)> file_in_trace;
  // The same for `t`'s executable, `exe` as /proc/PID/exe shows it.
  std::function<Result<std::string>(Task& t, const std::string& exe)> exe_in_trace;
  // Replay's values of bytes where the process's own differ by design
  // (none for a replay).
  std::function<MemoryOverlay(Task& t)> overlay;
  // Runs `body` with calls inside the stopped thread `t` (null: plain
  // RemoteSyscalls). The recorder's threads run the program: what came
  // meanwhile (a signal, their end) is handed back to the recorder.
  std::function<void(Task& t, const std::function<void(RemoteSyscalls&)>& body)> calls_inside;
  // Whether the source can save mapping `e` (a writer that reads copies
  // made by fork cannot save everything); null: every one.
  std::function<Status(const MapEntry& e)> refuse_mapping;
  // After a failure inside the threads' calls: whether a thread ended
  // under them (the event cannot be had: an Unsupported error).
  std::function<bool()> interrupted;
  // Processes (by recorded pid) whose every thread is held inside a call:
  // their signal actions and layout are the source's, and their pages are
  // read from the process itself before start_checkpoint_from returns
  // (no copy is made), while the source keeps its threads asleep.
  std::map<RecordedTid, ProcessAsleep> asleep;
  // Whether their threads slept throughout (none ran in its call), asked
  // once their pages are read; an error (Unsupported) names one that ran.
  std::function<Status()> asleep_intact;
  // For a writer that reads copies: whether every copy is still as it was
  // made (none killed meanwhile), checked once its pages are read and
  // before the file is put in place; an error names what happened.
  std::function<Status()> copies_intact;
  // Replay's shared objects; null: the writer refuses shared memory.
  SharedObjectWriter* objects = nullptr;
};

// Saves the current state of `session` (which must be able to checkpoint)
// under a temporary name, fsyncs it and renames it into place, unless a
// usable checkpoint of this event is there (see CheckpointStats::kept).
// With `base` (an earlier checkpoint of the trace, see find_base), an
// incremental checkpoint: pages the base or its own bases hold are not
// stored again. With `tracker` (one per replay session), the pages of the
// session's processes are write-protected as they are scanned; when `base`
// is the checkpoint the tracker last protected them for, pages not written
// since are taken from it without being read (RR_VERIFY_WRITE_TRACKING=1
// reads and checks them anyway).
Result<CheckpointStats> write_checkpoint(ReplaySession& session, Codec codec, const CheckpointReader* base = nullptr,
                                         WriteTracker* tracker = nullptr);
// The same, into `path`, with an optional point inside the next event
// (`position`, see Mark). Without `durable` the file is not fsynced (for
// snapshots that live as long as a gdb session).
Result<CheckpointStats> write_checkpoint_to(ReplaySession& session, Codec codec, const std::string& path,
                                            const Mark* position, bool durable, const CheckpointReader* base = nullptr,
                                            WriteTracker* tracker = nullptr);
// The same from any source (see CheckpointSource), into `path`.
Result<CheckpointStats> write_checkpoint_from(const CheckpointSource& source, Codec codec, const std::string& path,
                                              const Mark* position, bool durable, const CheckpointReader* base = nullptr,
                                              WriteTracker* tracker = nullptr);
// A checkpoint's writing left to do (see start_checkpoint_from), to be run
// once, on any thread.
using CheckpointJob = std::function<Result<CheckpointStats>()>;
// The same in two parts: what is read from the source's live processes
// now (their threads, layout, descriptors and the overlay), and a job that
// reads the pages from `copy_of(leader)` for each process (a copy of it
// made now, whose memory is the process's at this moment) and writes the
// file. The job owns `source` (its callbacks are dropped once the live
// processes are read); the copies must live until it returns.
Result<CheckpointJob> start_checkpoint_from(std::shared_ptr<CheckpointSource> source, Codec codec,
                                            const std::string& path, const CheckpointReader* base,
                                            const std::function<Result<Task*>(Task& leader)>& copy_of);
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

// Incremental checkpoints build on one another up to this depth: a
// restore reads at most this many files plus the full one.
constexpr int kMaxIncrementalDepth = 9;
// The latest usable checkpoint of the trace before `event` less than
// kMaxIncrementalDepth deep whose blocks (and its bases') carry page
// hashes (4.1, 3.3, 2.5 on), for an incremental one to be written
// against; nullptr when there is none.
std::unique_ptr<CheckpointReader> find_base(const std::string& trace_dir, const std::string& uuid, uint64_t event);

class CheckpointReader {
 public:
  // Opens and validates the header and the info message (checksum, version,
  // trace id). Page blocks are checked when read.
  static Result<std::unique_ptr<CheckpointReader>> open(const std::string& path, const std::string& uuid);
  ckpt::CheckpointInfo::Reader info() const { return info_; }
  // Decompresses block `index` into `out` after checking its checksum.
  // Safe to call from several threads, each with its own `scratch`.
  // Blocks of the base checkpoint follow this file's own (see block_of).
  Status read_block(uint32_t index, std::vector<uint8_t>& out, std::vector<uint8_t>& scratch) const;
  // Whether `raw`, a block's bytes, are the ones its checksums name.
  static bool block_matches(ckpt::PageBlock::Reader b, const std::vector<uint8_t>& raw);
  // The index read_block takes for a page reference.
  uint32_t block_of(ckpt::PageRef::Reader p) const { return p.getInBase() ? own_blocks_ + p.getBlock() : p.getBlock(); }
  // This file's blocks and its base's.
  size_t block_count() const { return own_blocks_ + (base_ ? base_->block_count() : 0); }
  // How many bases it builds on (0: a full checkpoint).
  int depth() const { return base_ ? base_->depth() + 1 : 0; }
  const std::string& path() const { return path_; }
  uint64_t info_checksum() const { return info_checksum_; }
  // The base of an incremental checkpoint (opened and checked with it).
  const CheckpointReader* base() const { return base_.get(); }

 private:
  CheckpointReader() = default;
  // Opens the base an incremental checkpoint names (and its bases): a
  // CorruptCheckpoint error when it is missing, unusable, another file, or
  // too deep a chain.
  Status open_base(const std::string& uuid);
  std::string path_;
  ScopedFd fd_;
  uint64_t file_size_ = 0;
  uint64_t info_checksum_ = 0;
  uint32_t own_blocks_ = 0;
  std::unique_ptr<CheckpointReader> base_;
  kj::Array<capnp::word> words_;
  std::unique_ptr<capnp::FlatArrayMessageReader> message_;
  ckpt::CheckpointInfo::Reader info_;
};

}  // namespace rr
