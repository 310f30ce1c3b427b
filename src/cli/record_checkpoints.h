// Checkpoints written while recording (rr record --checkpoint-every N|Ns,
// docs/record-checkpoints.md). By default the recorder copies each point
// from the recorded processes (RecordCopier), and the points no copy was
// had at are replayed to once the recording has ended; with
// RR_CHECKPOINT_WRITER=replay a follower process replays the trace as the
// recorder writes it, a little behind, and writes a checkpoint at each
// point the recorder names (RecordCheckpointer).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "cli/checkpoint_series.h"
#include "record/record_session.h"
#include "util/result.h"
#include "util/scoped_fd.h"

namespace rr {

// --checkpoint-every's value: "N" events or "Ns" seconds (a decimal number
// of seconds, more than 0).
Result<CheckpointEvery> parse_checkpoint_every(const std::string& value);

struct FollowerTally;

// How RecordCheckpointer::collect ends a follower: it stops at the next
// point keeping what it wrote (Halt), or it stops and removes what it
// wrote (Stop).
enum class FollowerEnd { Halt, Stop };

// The recorder's side of the follower: started at the first point, told
// of each point through a pipe, and waited for once the trace is complete.
// When a file joins the shared-files list (which a replay must know from
// its start), the follower is told to stop and remove what it wrote, and a
// new one replays from the start with the list as it stands, told of every
// point again; likewise once more when the recording ends if a file joined
// after the last point.
class RecordCheckpointer {
 public:
  // `beside_copies`: the follower of RecordCopier (start_beside).
  explicit RecordCheckpointer(CheckpointEvery every, bool beside_copies = false)
      : every_(every), beside_copies_(beside_copies) {}
  ~RecordCheckpointer();
  // rr record -q: no notice of points it cannot write (a PID namespace).
  void set_quiet(bool quiet) { quiet_ = quiet; }
  // RecordOptions::on_point.
  void on_point(const std::string& trace_dir, uint64_t event, size_t shared_files);
  // After the recording (the trace is finished, or recording failed): the
  // follower writes the checkpoints of the points it was told of, then
  // ends; prints what it wrote (unless `quiet`), and why it stopped early
  // if it did.
  void finish(bool quiet);

  // Beside the copying writer: starts a follower that knows a list of
  // `shared_files` files and may start from the copied checkpoints at
  // `copies` (whose bases all knew that list); then it is told the points
  // no copy achieved (send) and the copies made since (tell_copy). It is
  // never started again: when the list grows it is stopped (collect).
  Status start_beside(const std::string& trace_dir, size_t shared_files, const std::vector<uint64_t>& copies);
  // False once the follower is gone (it said why).
  bool tell_point(uint64_t event) {
    send(event);
    return control_.is_open();
  }
  void tell_copy(uint64_t event);
  // Tells the follower to stop and remove what it wrote (collect waits).
  void tell_stop();
  size_t shared_files_at_start() const { return shared_files_at_start_; }
  // Once the trace is complete, or to stop it (FollowerEnd): waits for the
  // follower's end and reads what it wrote; false when it failed (it said
  // why) or none runs.
  bool collect(FollowerEnd end, FollowerTally* tally, double* waited);

 private:
  // Starts a follower; `predecessor` is the result pipe of the one it
  // replaces (told to stop), whose end it waits for before it writes or ends.
  Status start(const std::string& trace_dir, ScopedFd predecessor);
  void send(uint64_t message);
  // Closes the control pipe (the trace is complete, or a last message was
  // sent), waits for the follower's tally and end; false when it sent none.
  bool read_tally(FollowerTally* tally, double* waited);
  // Starts the first follower, or stops the one running (which removes
  // what it wrote) and starts a new one from the start of the trace, which
  // knows a list of `shared_files` files; tells it of every point so far.
  void start_follower(size_t shared_files);
  std::string trace_dir_;
  CheckpointEvery every_;
  bool beside_copies_ = false;
  bool quiet_ = false;
  ScopedFd control_;  // write end: points, then end of file when the trace is complete
  ScopedFd result_;   // read end: the follower's tally, then end of file
  bool started_ = false;
  bool failed_ = false;  // no follower could be started
  int restarts_ = 0;
  size_t shared_files_at_start_ = 0;
  std::vector<uint64_t> points_;  // every point told so far
};

// The recorder's side of the copying writer (the default; with
// RR_CHECKPOINT_WRITER=copy, without the replays below): each point's
// checkpoint is written from the recorded processes, in the recorder, at
// the point or the first event after it where they stand where replay has
// them (RecordOptions::on_copy_point): the threads' state and the layout
// are read then, the pages from a copy of each process (made by a fork
// inside it) on a thread of the recorder's while the program runs on. Once
// the recording has ended, the points no copy achieved are written by
// replays of the finished trace, each from the copied checkpoint before it
// (checkpoint_series.h).
class RecordCopier {
 public:
  // `beside`: the points no copy achieved are replayed to during the
  // recording by a follower (RecordCheckpointer::start_beside), started at
  // the first one from the latest copy before it, and the rest once the
  // recording has ended (the default writer); else they stay missed.
  RecordCopier(CheckpointEvery every, bool beside) : every_(every), beside_(beside) {}
  // rr record -q: its follower tells no notices either.
  void set_quiet(bool quiet) { quiet_ = quiet; }
  // RecordOptions::on_copy_point.
  Result<CopyJob> on_point(const RecordPoint& point);
  // After the recording: drops the checkpoints written before a file
  // joined the shared-files list (a replay of the finished trace maps that
  // file from its emulated copy, the checkpoint from the plain one), with
  // `fill` writes the points no copy achieved by replaying to them, and
  // prints what was written (unless `quiet`).
  void finish(bool quiet, bool fill);

  // Whether a point missed now would be told to a replay beside the
  // recording (RecordOptions::share_missed_points): not with the copies
  // alone, nor once that replay was stopped or could not start.
  bool tells_missed_points() const { return beside_ && !follower_stopped_; }

 private:
  // Says that the copying stops at `event`, and why.
  void stopped(uint64_t event, const std::string& why);
  // Replays the finished trace to `missed`, each from the latest
  // checkpoint before it, and writes a checkpoint at each.
  void fill_missed(const std::vector<RequestedPoint>& missed, bool quiet);
  // A point no copy achieved: told to the follower (started at the first),
  // which is stopped instead when the shared-files list has grown since it
  // started.
  void tell_follower(const RecordPoint& point);
  struct Written {
    uint64_t event;
    std::string path;
    uint64_t bytes;
    uint64_t base_event;  // 0: a full one
    size_t shared_files;
    bool uniform;  // it and its bases all knew the same shared-files list
  };
  CheckpointEvery every_;
  bool beside_ = false;
  bool quiet_ = false;
  std::unique_ptr<RecordCheckpointer> follower_;
  bool follower_stopped_ = false;  // the list grew: what it wrote goes
  size_t told_ = 0;                // points told to the follower
  // The copies started whose bases all knew their list (Written::uniform):
  // event and list length. Kept on the recorder's main thread (written_ is
  // the copying thread's while a job runs).
  std::vector<std::pair<uint64_t, size_t>> uniform_copies_;
  std::string uuid_;
  std::string trace_dir_;
  std::vector<Written> written_;
  std::vector<uint64_t> points_;  // every point asked for, copied or missed
  std::map<uint64_t, std::string> missed_why_;  // why each point missed was not copied (the first reason)
  uint64_t max_resident_ = 0;     // the most memory a copied checkpoint held
  double seconds_ = 0;
  std::shared_ptr<CheckpointReader> base_;  // the last one written
};

}  // namespace rr
