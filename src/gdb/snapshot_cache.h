// SnapshotCache: the states a debugging session's replays can start from.
// It keeps in-memory copies of the replay (made by forking its tracees),
// checkpoint files in a private folder where a copy cannot be made, and
// gdb's checkpoints (numbered, possibly written into the trace or loaded
// from it); it lists them with the trace's persistent checkpoints as
// starting points and starts a replay from one. Which points deserve a
// snapshot is ReplayTimeline's decision.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "replay/position.h"
#include "replay/replay_session.h"
#include "util/result.h"

namespace rr {

// A state to start a replay from, and the point it holds: an in-memory
// copy of a replay (stopped, never run: each start copies it again), or a
// checkpoint file, or both once a copy has been written to the trace.
struct Snapshot {
  Mark mark;
  std::shared_ptr<ReplaySession> frozen;  // nullptr: only the file
  std::string path;                       // empty: only the copy
  int id = 0;            // gdb checkpoint number; 0 for automatic ones
  bool persistent = false;  // a file of the trace (create-checkpoints, load-checkpoints)
  std::string note;      // where gdb was, for `info checkpoints`
  bool near = false;     // an automatic copy left just before a replay's target (dropped first)
};

class SnapshotCache {
 public:
  SnapshotCache(std::string trace_dir, bool use_checkpoints);
  ~SnapshotCache();
  SnapshotCache(const SnapshotCache&) = delete;
  SnapshotCache& operator=(const SnapshotCache&) = delete;

  // Whether snapshots may be in-memory copies; RR_GDB_CLONES=0 keeps them
  // in files only (bench/gdb_checkpoints.py compares).
  static bool copies_wanted();

  // gdb checkpoints and automatic snapshots, in no order.
  const std::vector<Snapshot>& all() const { return snapshots_; }
  // A snapshot of `s`, which is at `m`: a copy, or else (unless
  // `copy_only`) a file in the private folder. Not kept yet.
  Result<Snapshot> take(ReplaySession& s, const Mark& m, bool copy_only);
  bool holds(const Mark& m) const;
  // Keeps an automatic snapshot; over the limit, the oldest near copy is
  // dropped first, then the oldest other automatic one.
  void keep_automatic(Snapshot snap);
  // Where a replay can start: the snapshots and (unless turned off) the
  // trace's persistent checkpoints, latest first.
  Result<std::vector<Snapshot>> starting_points() const;
  // A replay at `c`'s point; nullptr where it cannot start there (said on
  // stderr, and `c`, if it is one of ours, forgotten); an error when no
  // replay of the trace can be opened at all.
  Result<std::unique_ptr<ReplaySession>> start_from(const Snapshot& c);

  // gdb's checkpoints.
  // Keeps `snap` as gdb checkpoint `note`; returns its number.
  int add_checkpoint(Snapshot snap, const std::string& note);
  Status delete_checkpoint(int id);
  // gdb checkpoint `id`, or nullptr (valid until the cache changes).
  Snapshot* checkpoint(int id);
  std::vector<int> checkpoint_ids() const;  // ascending
  // Copies every gdb checkpoint into the trace's checkpoints/ folder.
  Result<int> write_checkpoints();
  // Makes the trace's checkpoint files gdb checkpoints; returns how many are new.
  Result<int> load_checkpoints();

 private:
  // Forgets a snapshot, and its private file if it has one.
  void drop(std::vector<Snapshot>::iterator it);
  std::string private_dir();

  std::string trace_dir_;
  bool use_checkpoints_;
  std::vector<Snapshot> snapshots_;
  int next_id_ = 1;
  int next_file_ = 1;
  std::string private_dir_;
};

}  // namespace rr
