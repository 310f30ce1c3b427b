#include "cli/record_checkpoints.h"

#include "checkpoint/record_writer.h"

#include <cerrno>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <climits>
#include <cstring>
#include <deque>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "checkpoint/restore.h"
#include "cli/checkpoint_series.h"
#include "core/write_tracker.h"
#include "replay/replay_session.h"
#include "trace/trace_files.h"
#include "util/fatal.h"
#include "util/invariant.h"
#include "util/io.h"

namespace rr {

namespace {

// "every N events" or "every N s", as the reports print it.
std::string every_text(const CheckpointEvery& every) {
  char text[64];
  if (every.events)
    snprintf(text, sizeof text, "%" PRIu64 " events", every.events);
  else
    snprintf(text, sizeof text, "%g s", every.seconds);
  return text;
}

// How many files the shared-files list of the finished trace in
// `trace_dir` names, one a line; nullopt when it cannot be read (a
// recording that failed before writing it).
std::optional<size_t> shared_files_count(const std::string& trace_dir) {
  auto text = read_file(trace_dir + "/shared-files");
  if (!text.ok()) return std::nullopt;
  return (size_t)std::count(text->begin(), text->end(), '\n');
}

// The message that tells the follower to stop and remove what it wrote, for
// a follower that starts again (every other message is a point's event
// number, or a copied checkpoint's with kCopy).
constexpr uint64_t kStop = ~0ull;
// Beside the copying writer: a copied checkpoint at this event (the bit
// cleared) that the replay may start from, once its file is there.
constexpr uint64_t kCopy = 1ull << 62;
// Beside the copying writer, once the recording has ended: stop at the next
// point, keeping what was written (replays of the finished trace write the
// rest, several at once).
constexpr uint64_t kHalt = ~0ull - 1;
// Beside the copies, the follower looks for a halt after this many events
// of a replay to a point.
constexpr uint64_t kHaltCheckEvents = 10;

// The follower's nice value: it runs beside the recording, which goes first
// when both want the same CPU (replay pins its tracees to the recording's CPU).
constexpr int kFollowerNice = 10;

}  // namespace

// What the follower wrote, handed to the recorder through a pipe (plain
// data, less than PIPE_BUF: one write, whole or absent).
struct FollowerTally {
  uint64_t written = 0, incremental = 0, bytes = 0, achieved = 0;
  uint64_t stopped_at = 0;  // nonzero: the follower stopped early at this event (it said why)
  // The follower's CPU time, its own and its tracees' (reaped with its
  // replay session), seconds: the cost of the checkpoints beside the
  // recording's.
  double cpu_seconds = 0;
  // The first point not achieved (0: none), the event of the first
  // checkpoint after it (0: none), and why nothing could be saved at the
  // point (or that a later point took the same checkpoint).
  uint64_t first_missed = 0, first_missed_checkpoint = 0;
  char first_missed_why[200] = {};
  // Beside the copying writer: the copied checkpoint it started from (0:
  // the start of the trace), and how many times it went on from a later
  // copy instead of replaying to it.
  uint64_t started_from = 0, restores = 0;
};
static_assert(sizeof(FollowerTally) < PIPE_BUF, "the tally is written to a pipe in one piece");

namespace {

using Tally = FollowerTally;

// The follower's end of the control pipe: points queue up as they come,
// also while the replay waits for more of the trace.
class Control {
 public:
  explicit Control(int fd) : fd_(fd) {}
  // Reads one message; false once the recorder closed the pipe (the trace
  // is complete) or said stop.
  bool read_one() {
    if (closed_ || stop_) return false;
    uint64_t v;
    ssize_t n;
    do n = read(fd_, &v, sizeof v);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof v) {
      closed_ = true;
      return false;
    }
    if (v == kStop) {
      stop_ = true;
      return false;
    }
    if (v == kHalt) {
      halt_ = true;
      return false;
    }
    if (v & kCopy)
      copies_.insert(v & ~kCopy);
    else
      points_.push_back(v);
    return true;
  }
  std::deque<uint64_t>& points() { return points_; }
  const std::set<uint64_t>& copies() const { return copies_; }
  bool stop() const { return stop_; }
  bool halted() const { return halt_; }
  bool closed() const { return closed_; }
  // Reads the messages already sent, without waiting.
  void drain() {
    pollfd p = {fd_, POLLIN, 0};
    while (!closed_ && !stop_ && !halt_ && poll(&p, 1, 0) > 0) read_one();
  }

 private:
  int fd_;
  bool closed_ = false, stop_ = false, halt_ = false;
  std::deque<uint64_t> points_;
  std::set<uint64_t> copies_;  // copied checkpoints told (kCopy)
};

// Replays the trace at `dir` as it is recorded and writes a checkpoint at
// each point (or at the first event after it where one can be written),
// incremental ones on the one before as create-checkpoints does.
// Waits for the end of the follower this one replaces (the end of file
// of its result pipe, `fd`): it removes what it wrote before it ends, and
// waited for its own predecessor likewise.
void wait_for_predecessor(int& fd) {
  if (fd < 0) return;
  char buf[sizeof(Tally)];
  ssize_t n;
  do n = read(fd, buf, sizeof buf);
  while (n > 0 || (n < 0 && errno == EINTR));
  close(fd);
  fd = -1;
}

// Beside the copying writer (`beside_copies`), the replay starts from the
// latest copied checkpoint told before the first point (or the start of
// the trace), goes on from a later copy instead of replaying to it when
// one lies before the next point, and writes its checkpoints
// incremental on the copy it started from or on its own, never on another
// writer's (which the recorder may drop when the recording ends).
Tally follow_recording(const std::string& dir, Control& control, const CheckpointEvery& every, int predecessor,
                       bool beside_copies, bool quiet) {
  Tally tally;
  std::vector<std::string> written;
  KJ_DEFER(wait_for_predecessor(predecessor));
  // A state no checkpoint can hold yet (a local descriptor table) is a
  // notice, which -q silences as it silences the points missed; a
  // failure is always told.
  auto stop_early = [&](uint64_t at, const Error& why) {
    if (!quiet || why.kind != ErrorKind::Unsupported)
      fprintf(stderr, "rr: checkpoints while recording stop at event %" PRIu64 ": %s\n", at, why.message.c_str());
    tally.stopped_at = at ? at : 1;
  };
  std::unique_ptr<ReplaySession> session;
  std::unique_ptr<CheckpointReader> base;
  // Pages written since the last checkpoint (one per replay session).
  std::unique_ptr<WriteTracker> tracker;
  uint64_t last_written = 0;  // the event of the last checkpoint written (or started from)
  // A replay of the trace from its start, or from the checkpoint `from`.
  auto open_session = [&](const CheckpointEntry* from) -> Status {
    session.reset();  // its tracees end before the new ones start
    base.reset();
    RR_ASSIGN_OR_RETURN(session, ReplaySession::open(dir));
    if (from) {
      RR_TRY(restore_checkpoint(*session, from->path));
      auto reopened = CheckpointReader::open(from->path, session->reader().uuid());
      if (reopened.ok()) base = std::move(reopened.value());
      last_written = from->event;
    }
    session->set_echo(false);
    session->reader().follow([&] { return control.read_one(); });
    tracker = WriteTracker::wanted() ? std::make_unique<WriteTracker>() : nullptr;
    session->set_write_tracker(tracker.get());
    return {};
  };
  // The latest copy told at an event in (after, upto] whose file is there
  // and sound.
  std::string uuid;
  auto copy_between = [&](uint64_t after, uint64_t upto) -> std::optional<CheckpointEntry> {
    auto it = control.copies().upper_bound(upto);
    if (it == control.copies().begin() || *std::prev(it) <= after) return std::nullopt;
    std::vector<CheckpointEntry> list = list_checkpoints(dir, uuid);
    for (auto e = list.rbegin(); e != list.rend(); ++e)
      if (e->problem.empty() && e->event > after && e->event <= upto && control.copies().count(e->event)) return *e;
    return std::nullopt;
  };
  if (beside_copies) {
    auto reader = TraceReader::open(dir);
    if (!reader.ok()) {
      stop_early(1, reader.error());
      return tally;
    }
    uuid = reader.value()->uuid();
  } else {
    Status opened = open_session(nullptr);
    if (!opened.ok()) {
      stop_early(1, opened.error());
      return tally;
    }
  }
  bool told_pid_ns = false;
  auto note_missed = [&](uint64_t point, uint64_t checkpoint, const std::string& why) {
    RR_LOG("checkpoints while recording: point %" PRIu64 " not achieved (the first checkpoint after it is at %" PRIu64
           "): %s", point, checkpoint, why.c_str());
    if (tally.first_missed) return;
    tally.first_missed = point;
    tally.first_missed_checkpoint = checkpoint;
    snprintf(tally.first_missed_why, sizeof tally.first_missed_why, "%s", why.c_str());
  };
  for (;;) {
    // Beside the copies the recorder halts the follower before it closes
    // the pipe: a pipe closed without that is a recorder gone.
    if (beside_copies) control.drain();
    if (control.halted() || (beside_copies && control.closed())) break;
    if (control.points().empty() && !control.read_one()) break;
    if (control.points().empty()) continue;
    uint64_t point = control.points().front();
    if (beside_copies) {
      // From a copy rather than by replaying to it.
      uint64_t now = session ? session->current_event() : 0;
      std::optional<CheckpointEntry> from = copy_between(now, point);
      if (!session || from) {
        Status opened = open_session(from ? &*from : nullptr);
        if (!opened.ok()) {
          stop_early(now ? now : 1, opened.error());
          break;
        }
        if (from && tally.started_from == 0 && now == 0) tally.started_from = from->event;
        else if (from) ++tally.restores;
      }
    }
    ReplaySession& s = *session;
    Status st;
    if (!beside_copies) {
      if (point > s.current_event()) st = s.run_to(point);
    } else {
      // In steps, so that a halt (the recording has ended: replays from
      // every checkpoint take over) is seen within a few events.
      while (st.ok() && point > s.current_event()) {
        st = s.run_to(std::min(point, s.current_event() + kHaltCheckEvents));
        control.drain();
        if (control.halted()) break;
      }
    }
    if (control.halted() && s.current_event() < point) break;
    // Events where nothing can be saved (a signal in flight, the exit) are
    // skipped for the next one that can.
    std::string why_not;  // why nothing can be saved where the replay stands for this point
    if (st.ok() && !s.can_checkpoint() && !s.exited() && !s.at_end())
      why_not = "at event " + std::to_string(s.current_event()) + " " + s.why_no_checkpoint();
    while (st.ok() && !s.can_checkpoint() && !s.exited() && !s.at_end()) {
      if (beside_copies) control.drain();
      if (control.halted()) break;
      std::string pid_ns = s.pid_namespace_refusal();
      if (!pid_ns.empty() && !told_pid_ns) {
        if (!quiet)
          fprintf(stderr, "rr: no checkpoint at event %" PRIu64 " and after while %s\n", s.current_event(),
                  pid_ns.c_str());
        told_pid_ns = true;
      }
      auto stop = s.run(RunRequest{});
      if (!stop.ok()) st = stop.take_error();
    }
    // Halted, the trace is complete: a checkpoint where the replay stands
    // is written if one can be, and the follower ends. A pipe closed
    // without the halt is a recorder gone, whose trace may end anywhere.
    if (control.stop() || (beside_copies && control.closed() && !control.halted())) break;
    if (control.halted() && !s.can_checkpoint()) break;
    if (!st.ok()) {
      stop_early(s.current_event(), st.error());
      break;
    }
    if (!s.can_checkpoint()) {  // the program's end
      for (uint64_t p : control.points())
        note_missed(p, 0, why_not.empty() ? "the program ended" : why_not);
      break;
    }
    if (predecessor >= 0) {
      // What the followers before this one wrote is gone once they end;
      // and what one that ended early (on an error, before it was told to
      // stop) left is removed here: none of them knew the whole list.
      wait_for_predecessor(predecessor);
      for (const CheckpointEntry& c : list_checkpoints(dir, s.reader().uuid())) unlink(c.path.c_str());
    }
    uint64_t at = s.current_event();
    // A point named after the replay went past it (skipping events where
    // nothing can be saved) is stood for by the checkpoint already written
    // here: writing another would replace that file with one based on itself.
    if (at != last_written) {
      if (!base && !beside_copies) base = find_base(dir, s.reader().uuid(), at);
      bool take_full = !base || base->depth() >= kMaxIncrementalDepth;
      auto stats = write_checkpoint(s, Codec::Zstd, take_full ? nullptr : base.get(), tracker.get());
      if (!stats.ok()) {
        stop_early(at, stats.error());
        break;
      }
      // Beside the copies, one already there (a copy of the same event)
      // is not built on: the recorder may drop it.
      if (!stats->kept || !beside_copies) {
        auto reopened = CheckpointReader::open(stats->path, s.reader().uuid());
        base = reopened.ok() ? std::move(reopened.value()) : nullptr;
      }
      if (!stats->kept) {  // else one already there stays, not this follower's to remove
        written.push_back(stats->path);
        ++tally.written;
        if (!take_full) ++tally.incremental;
        tally.bytes += stats->file_bytes;
      }
      last_written = at;
    }
    // The points this checkpoint stands for: a point is achieved by a
    // checkpoint at it or after it, before the next point (by events:
    // less than one interval after it).
    uint64_t latest = 0;
    while (!control.points().empty() && control.points().front() <= at) {
      latest = control.points().front();
      control.points().pop_front();
      bool next_passed = !control.points().empty() && control.points().front() <= at;
      if (every.events > 0 && at < latest + every.events) ++tally.achieved;
      else if (every.events > 0 || next_passed)
        note_missed(latest, at, latest == point && !why_not.empty() ? why_not : "a later point took the same checkpoint");
    }
    if (every.events == 0 && latest) ++tally.achieved;
    if (control.halted()) break;
  }
  if (control.stop())
    for (auto it = written.rbegin(); it != written.rend(); ++it) unlink(it->c_str());
  session.reset();
  return tally;
}

double cpu_seconds(int who) {
  rusage u{};
  getrusage(who, &u);
  auto secs = [](const timeval& t) { return (double)t.tv_sec + (double)t.tv_usec / 1e6; };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

// Closes every descriptor of this process above 2 but `keep`.
void close_other_fds(const std::vector<int>& keep) {
  std::vector<int> open_fds;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d)) {
      int fd = atoi(e->d_name);
      if (fd > 2 && fd != dirfd(d)) open_fds.push_back(fd);
    }
    closedir(d);
  }
  for (int fd : open_fds)
    if (std::find(keep.begin(), keep.end(), fd) == keep.end()) close(fd);
}

}  // namespace

Result<CheckpointEvery> parse_checkpoint_every(const std::string& value) {
  CheckpointEvery every;
  bool seconds = !value.empty() && value.back() == 's';
  std::string number = seconds ? value.substr(0, value.size() - 1) : value;
  char* end = nullptr;
  errno = 0;
  if (!number.empty() && number[0] != '-' && number[0] != '+' && !isspace((unsigned char)number[0])) {
    if (seconds) {
      every.seconds = strtod(number.c_str(), &end);
      if (*end || errno || !(every.seconds > 0) || every.seconds > 1e9) every.seconds = 0;
    } else {
      unsigned long long n = strtoull(number.c_str(), &end, 10);
      if (!*end && !errno) every.events = n;
    }
  }
  if (!every.on())
    return make_error(ErrorKind::Usage, "--checkpoint-every needs a number of events (N) or of seconds (Ns) above 0, not '" +
                                            value + "'");
  return every;
}

RecordCheckpointer::~RecordCheckpointer() {
  // A recording that ends by an error: the follower ends with the pipe.
  control_.reset();
}

Status RecordCheckpointer::start(const std::string& trace_dir, ScopedFd predecessor) {
  int c[2], r[2];
  if (pipe2(c, O_CLOEXEC) != 0) return make_error("cannot make a pipe: " + errno_text());
  ScopedFd control_read(c[0]), control_write(c[1]);
  if (pipe2(r, O_CLOEXEC) != 0) return make_error("cannot make a pipe: " + errno_text());
  ScopedFd result_read(r[0]), result_write(r[1]);
  fflush(stdout);
  fflush(stderr);
  pid_t child = fork();
  if (child < 0) return make_error("cannot start the checkpoint writer: " + errno_text());
  if (child == 0) {
    // A grandchild of the recorder, so that the recorder's waits for any
    // tracee never see it; it ends here whatever happens, and nothing
    // unwinds into the recorder's code.
    pid_t follower = fork();
    if (follower != 0) _exit(follower < 0 ? 1 : 0);
    try {
      // Out of the terminal's process group (^C is the program's, and the
      // follower ends when the recorder closes the pipe), with the
      // signal dispositions and mask a fresh rr has.
      setpgid(0, 0);
      for (int sig : OutsideSignals::handled()) signal(sig, SIG_DFL);
      signal(SIGCHLD, SIG_DFL);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      setpriority(PRIO_PROCESS, 0, kFollowerNice);
      control_write.reset();
      result_read.reset();
      close_other_fds({control_read.get(), result_write.get(), predecessor.get()});
      int null_fd = open("/dev/null", O_WRONLY);
      if (null_fd >= 0) dup2(null_fd, 1);
      if (null_fd > 2) close(null_fd);
      Control control(control_read.get());
      Tally tally = follow_recording(trace_dir, control, every_, predecessor.release(), beside_copies_, quiet_);
      tally.cpu_seconds = cpu_seconds(RUSAGE_SELF) + cpu_seconds(RUSAGE_CHILDREN);
      _exit(write_all(result_write.get(), &tally, sizeof tally, "a pipe").ok() ? 0 : 1);
    } catch (const std::exception& e) {
      fprintf(stderr, "rr: checkpoints while recording stop: %s\n", e.what());
    } catch (...) {
      fprintf(stderr, "rr: checkpoints while recording stop: an unexpected failure\n");
    }
    _exit(1);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return make_error("cannot start the checkpoint writer");
  control_ = std::move(control_write);
  result_ = std::move(result_read);
  return {};
}

void RecordCheckpointer::send(uint64_t message) {
  if (!control_.is_open()) return;
  // Eight bytes, less than PIPE_BUF; a follower gone (EPIPE) shows in finish().
  sigset_t pipe_sig, old;
  sigemptyset(&pipe_sig);
  sigaddset(&pipe_sig, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_sig, &old);
  ssize_t n;
  do n = write(control_.get(), &message, sizeof message);
  while (n < 0 && errno == EINTR);
  struct timespec zero = {0, 0};
  if (n < 0 && errno == EPIPE) sigtimedwait(&pipe_sig, nullptr, &zero);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (n != (ssize_t)sizeof message) control_.reset();
}

void RecordCheckpointer::on_point(const std::string& trace_dir, uint64_t event, size_t shared_files) {
  if (failed_) return;
  trace_dir_ = trace_dir;
  points_.push_back(event);
  if (started_ && shared_files == shared_files_at_start_) {
    send(event);
    return;
  }
  if (started_ && restarts_ == 0)
    fprintf(stderr,
            "rr: checkpoints while recording start again at event %" PRIu64
            ": a file mapped from a descriptor open for writing joined the shared-files list, which a replay must "
            "know from its start\n",
            event);
  start_follower(shared_files);
}

void RecordCheckpointer::start_follower(size_t shared_files) {
  ScopedFd predecessor;
  if (started_) {
    // A file joined the shared-files list since the follower began: its
    // replay did not know it from the start, as a replay of the finished
    // trace does, and what it wrote may differ from that.
    send(kStop);
    control_.reset();
    predecessor = std::move(result_);
    ++restarts_;
  }
  started_ = true;
  shared_files_at_start_ = shared_files;
  Status st = start(trace_dir_, std::move(predecessor));
  if (!st.ok()) {
    fprintf(stderr, "rr: no checkpoints while recording: %s\n", st.error().message.c_str());
    failed_ = true;
    return;
  }
  for (uint64_t point : points_) send(point);
}

void RecordCheckpointer::finish(bool quiet) {
  if (!started_ || !result_.is_open()) return;
  // A file that joined the list after the last point: the follower's
  // replay did not know it, and its checkpoints may differ from a replay
  // of the finished trace (a plain copy of the file mapped before it
  // joined is the shared emulated copy there). A new follower replays the
  // finished trace, told of every point.
  std::optional<size_t> final_list = shared_files_count(trace_dir_);
  if (final_list && *final_list != shared_files_at_start_) {
    fprintf(stderr,
            "rr: checkpoints while recording start again after the recording: a file mapped from a descriptor open "
            "for writing joined the shared-files list after the last point\n");
    start_follower(*final_list);
    if (failed_) return;
  }
  Tally tally;
  double waited = 0;
  if (!read_tally(&tally, &waited)) {
    fprintf(stderr, "rr: the checkpoint writer of this recording failed (see above)\n");
    return;
  }
  if (quiet) return;
  std::string every = every_text(every_);
  fprintf(stderr, "rr: wrote %" PRIu64 " checkpoints while recording (%" PRIu64 " incremental), %" PRIu64
                  " bytes; requested %" PRIu64 " (every %s), achieved %" PRIu64 "; %.2f s after the program's end"
                  " (the writer used %.2f s of CPU)\n",
          tally.written, tally.incremental, tally.bytes, (uint64_t)points_.size(), every.c_str(), tally.achieved, waited,
          tally.cpu_seconds);
  // A point missed is named, with why (a test's log then says what a
  // loaded machine did to the recording).
  tally.first_missed_why[sizeof tally.first_missed_why - 1] = 0;
  if (tally.first_missed && tally.first_missed_checkpoint)
    fprintf(stderr, "rr: point %" PRIu64 " not achieved: the first checkpoint after it is at %" PRIu64 " (%s)\n",
            tally.first_missed, tally.first_missed_checkpoint, tally.first_missed_why);
  else if (tally.first_missed)
    fprintf(stderr, "rr: point %" PRIu64 " not achieved: no checkpoint after it (%s)\n", tally.first_missed,
            tally.first_missed_why);
}

Status RecordCheckpointer::start_beside(const std::string& trace_dir, size_t shared_files,
                                        const std::vector<uint64_t>& copies) {
  trace_dir_ = trace_dir;
  started_ = true;
  shared_files_at_start_ = shared_files;
  Status st = start(trace_dir, ScopedFd());
  if (!st.ok()) {
    failed_ = true;
    return st;
  }
  for (uint64_t event : copies) send(kCopy | event);
  return {};
}

void RecordCheckpointer::tell_copy(uint64_t event) { send(kCopy | event); }

void RecordCheckpointer::tell_stop() { send(kStop); }

bool RecordCheckpointer::read_tally(FollowerTally* tally, double* waited) {
  control_.reset();
  auto waited_from = std::chrono::steady_clock::now();
  ssize_t n;
  do n = read(result_.get(), tally, sizeof *tally);
  while (n < 0 && errno == EINTR);
  result_.reset();
  *waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - waited_from).count();
  return n == (ssize_t)sizeof *tally;
}

bool RecordCheckpointer::collect(FollowerEnd end, FollowerTally* tally, double* waited) {
  if (!result_.is_open()) return false;
  send(end == FollowerEnd::Stop ? kStop : kHalt);
  return read_tally(tally, waited);
}

Result<CopyJob> RecordCopier::on_point(const RecordPoint& point) {
  if (!point.trace_dir.empty()) trace_dir_ = point.trace_dir;
  if (!point.uuid.empty()) uuid_ = point.uuid;
  if (point.missed) {
    // A job that failed was counted when it started.
    if (!point.job_failed) points_.push_back(point.point);
    if (point.stop) stopped(point.event, point.why);
    missed_why_.emplace(point.point, point.why);
    tell_follower(point);
    return CopyJob();
  }
  // Each on the one before, a full one again after kMaxIncrementalDepth
  // (as the follower writes them); never on the follower's, which go when
  // it is stopped. The job before this one has ended: written_ is this
  // thread's again.
  std::shared_ptr<CheckpointReader> base = base_;
  if (base && base->depth() >= kMaxIncrementalDepth) base.reset();
  bool uniform = !base || (!written_.empty() && written_.back().uniform && written_.back().shared_files == point.shared_files);
  if (uniform) {
    uniform_copies_.push_back({point.event, point.shared_files});
    // The follower may go on from it (once its file is there).
    if (follower_ && !follower_stopped_ && point.shared_files == follower_->shared_files_at_start())
      follower_->tell_copy(point.event);
  }
  Result<CheckpointJob> started = start_recording_checkpoint(point, Codec::Zstd, base.get());
  if (!started.ok()) {
    // A thread that ended under the writer's calls: the recorder keeps the
    // point waiting, as for an event where none can be written.
    if (started.error().kind == ErrorKind::Unsupported || point.interrupted()) {
      RR_LOG("point %" PRIu64 ": no copy at event %" PRIu64 ": %s", point.point, point.event,
             started.error().message.c_str());
      return started.take_error();
    }
    points_.push_back(point.point);
    stopped(point.event, started.error().message);
    missed_why_.emplace(point.point, started.error().message);
    return started.take_error();
  }
  points_.push_back(point.point);
  // The rest runs on the recorder's thread for it while the program goes
  // on; the recorder waits for it before the next point and at the end,
  // and tells a failure back here on its main thread (point.job_failed).
  // Until then nothing else touches what it sets.
  return CopyJob([this, job = std::move(started.value()), base, uuid = point.uuid,
                  shared_files = point.shared_files, uniform]() -> Status {
    Result<CheckpointStats> stats = job();
    if (!stats.ok()) return stats.take_error();
    seconds_ += stats->seconds;
    max_resident_ = std::max(max_resident_, stats->resident_bytes);
    // One already there (the follower's, at the same event) stays and is
    // not the copier's: the next copy builds on the copy before.
    if (stats->kept) return {};
    auto reopened = CheckpointReader::open(stats->path, uuid);
    base_ = reopened.ok() ? std::shared_ptr<CheckpointReader>(std::move(reopened.value())) : nullptr;
    written_.push_back({stats->event, stats->path, stats->file_bytes, stats->base_event, shared_files, uniform});
    return {};
  });
}

void RecordCopier::tell_follower(const RecordPoint& point) {
  // A point missed once the program has ended is left to the replays
  // after the end, which start now.
  if (!beside_ || follower_stopped_ || !point.shared || point.recording_ended) return;
  if (follower_ && follower_->shared_files_at_start() != point.shared_files) {
    // A file joined the list since the follower started: a replay of the
    // finished trace maps it from its emulated copy from the start, and
    // what the follower wrote may differ (it is removed; the replays after
    // the recording write those points).
    follower_stopped_ = true;
    follower_->tell_stop();
    RR_LOG("the replay beside the recording stops at point %" PRIu64 ": the shared-files list grew", point.point);
    return;
  }
  if (!follower_) {
    follower_ = std::make_unique<RecordCheckpointer>(every_, true);
    follower_->set_quiet(quiet_);
    std::vector<uint64_t> copies;
    for (const auto& [event, list] : uniform_copies_)
      if (list == point.shared_files) copies.push_back(event);
    Status st = follower_->start_beside(point.trace_dir, point.shared_files, copies);
    if (!st.ok()) {
      fprintf(stderr, "rr: no replay beside the recording: %s\n", st.error().message.c_str());
      follower_.reset();
      beside_ = false;  // the replays after the end write the missed points
      return;
    }
  }
  if (follower_->tell_point(point.point)) ++told_;
}

void RecordCopier::stopped(uint64_t event, const std::string& why) {
  fprintf(stderr, "rr: checkpoints while recording stop at event %" PRIu64 ": %s\n", event, why.c_str());
}

void RecordCopier::finish(bool quiet, bool fill) {
  if (points_.empty()) return;
  size_t final_list = trace_dir_.empty() ? 0 : shared_files_count(trace_dir_).value_or(0);
  // The follower stops at its next point (the replays below write the
  // rest, several at once), or stops and removes what it wrote if a file
  // joined the list after it started (or the recording failed).
  FollowerTally beside;
  double beside_waited = 0;
  bool beside_ok = false, beside_dropped = false;
  if (follower_) {
    beside_dropped = !fill || follower_stopped_ || final_list != follower_->shared_files_at_start();
    beside_ok = follower_->collect(beside_dropped ? FollowerEnd::Stop : FollowerEnd::Halt, &beside, &beside_waited);
  }
  uint64_t bytes = 0, incremental = 0;
  std::set<uint64_t> dropped, kept;
  std::set<std::string> copy_paths;
  for (const Written& w : written_) {
    copy_paths.insert(w.path);
    // A checkpoint written against one that is dropped goes too.
    if (w.shared_files < final_list || dropped.count(w.base_event)) {
      unlink(w.path.c_str());
      dropped.insert(w.event);
      continue;
    }
    kept.insert(w.event);
    bytes += w.bytes;
    incremental += w.base_event != 0;
  }
  if (!dropped.empty() && !quiet)
    fprintf(stderr,
            "rr: %" PRIu64 " checkpoints written while recording were removed: a file mapped from a descriptor open for "
            "writing joined the shared-files list after them\n",
            (uint64_t)dropped.size());
  // The follower's: every other checkpoint of the trace. It built only on
  // its own and on copies whose bases all knew its list, which stay when
  // the list did not grow.
  std::set<uint64_t> followed;
  if (follower_ && !trace_dir_.empty()) {
    for (const CheckpointEntry& e : list_checkpoints(trace_dir_, uuid_)) {
      if (copy_paths.count(e.path)) continue;
      if (beside_dropped)
        unlink(e.path.c_str());
      else if (e.problem.empty())
        followed.insert(e.event);
    }
    remove_stale_temporaries(trace_dir_);
  }
  // A point is achieved by a checkpoint at it or after it, before the next
  // point (a copy waits no longer).
  auto missed_with = [&](const std::set<uint64_t>& have) {
    std::vector<RequestedPoint> missed;
    for (size_t i = 0; i < points_.size(); ++i) {
      uint64_t until = i + 1 < points_.size() ? points_[i + 1] : UINT64_MAX;
      auto at = have.lower_bound(points_[i]);
      if (at == have.end() || *at >= until) missed.push_back({points_[i], until});
    }
    return missed;
  };
  std::vector<RequestedPoint> missed = missed_with(kept);
  std::string every = every_text(every_);
  if (!quiet)
    fprintf(stderr, "rr: wrote %zu checkpoints while recording, copied from the recorded processes (%" PRIu64
                    " incremental), %" PRIu64 " bytes; requested %zu (every %s), achieved %zu; %.2f s writing\n",
            kept.size(), incremental, bytes, points_.size(), every.c_str(), points_.size() - missed.size(), seconds_);
  if (follower_) {
    std::set<uint64_t> both = kept;
    both.insert(followed.begin(), followed.end());
    std::vector<RequestedPoint> still = missed_with(both);
    if (!quiet && beside_dropped && fill)
      fprintf(stderr,
              "rr: the replay beside the recording stopped, and what it wrote was removed: a file mapped from a "
              "descriptor open for writing joined the shared-files list after it started\n");
    else if (!quiet && beside_ok) {
      std::string from = beside.started_from ? "the copied checkpoint at " + std::to_string(beside.started_from)
                                             : std::string("the start");
      fprintf(stderr,
              "rr: replayed beside the recording to the %zu points the copies missed while it ran: wrote %zu "
              "checkpoints (%" PRIu64 " incremental), %" PRIu64 " bytes, achieved %zu; it stopped %.2f s after the program's end "
              "(the replay used %.2f s of CPU), from %s, going on from %" PRIu64 " later copies\n",
              told_, followed.size(), beside.incremental, beside.bytes, missed.size() - still.size(),
              beside_waited, beside.cpu_seconds, from.c_str(), beside.restores);
    } else if (!beside_ok && fill)
      fprintf(stderr, "rr: the replay beside the recording failed (see above)\n");
    missed = std::move(still);
  }
  if (fill && !missed.empty() && !trace_dir_.empty()) {
    fill_missed(missed, quiet);
    return;
  }
  // The first point missed (points come in order), with why.
  if (!quiet && !missed_why_.empty() && !missed.empty())
    fprintf(stderr, "rr: point %" PRIu64 " not achieved (%s)\n", missed_why_.begin()->first,
            missed_why_.begin()->second.c_str());
}

// How many replays of a segment may run at once: one per CPU this process
// may use, up to 8, and no more than the memory free holds (each restores
// and replays the program's whole memory; `resident` is the most a copied
// checkpoint held, 0 if none was copied).
static unsigned fill_jobs(uint64_t resident) {
  cpu_set_t set;
  long cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
  unsigned jobs = (unsigned)std::clamp<long>(cpus, 1, 8);
  uint64_t available_kib = 0;
  auto meminfo = read_file("/proc/meminfo");
  if (meminfo.ok()) {
    size_t at = meminfo->find("MemAvailable:");
    if (at != std::string::npos) available_kib = strtoull(meminfo->c_str() + at + strlen("MemAvailable:"), nullptr, 10);
  }
  if (resident && available_kib) {
    // Twice the program's memory each: the replay's tracees and what its
    // supervisor reads and compresses.
    uint64_t fit = available_kib * 1024 / (2 * resident);
    jobs = (unsigned)std::clamp<uint64_t>(fit, 1, jobs);
  }
  return jobs;
}

void RecordCopier::fill_missed(const std::vector<RequestedPoint>& missed, bool quiet) {
  auto t0 = std::chrono::steady_clock::now();
  SeriesPlan plan;
  plan.dir = trace_dir_;
  plan.worker_what = "replaying to the points the copies missed: ";
  plan.quiet = quiet;
  uint64_t last = 0;
  std::string uuid;
  Status read = read_series_trace(plan.dir, &last, &uuid, &plan.exit_start);
  if (!read.ok()) {
    fprintf(stderr, "rr: the %zu points the copies missed have no checkpoints: %s\n", missed.size(),
            read.error().message.c_str());
    return;
  }
  if (!quiet && isatty(STDERR_FILENO))
    fprintf(stderr, "rr: replaying from the copied checkpoints to the %zu points the copies missed...\n", missed.size());
  // The stretches between copied checkpoints that hold missed points, each
  // replayed by a worker from the checkpoint it starts at.
  size_t segments = 0;
  Result<SeriesTally> tally = write_series(plan, uuid, missed, last, fill_jobs(max_resident_), &segments);
  // What a worker stopped by an error left half written.
  remove_stale_temporaries(plan.dir);
  if (!tally.ok()) {
    fprintf(stderr, "rr: replaying to the points the copies missed failed: %s\n", tally.error().message.c_str());
    return;
  }
  const SeriesTally& t = tally.value();
  if (t.failed_segments)
    fprintf(stderr,
            "rr: replaying to the points the copies missed failed in %" PRIu64 " of %zu stretches (see above); %" PRIu64
            " checkpoints written by the others\n",
            t.failed_segments, segments, t.written);
  if (quiet) return;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fprintf(stderr,
          "rr: replayed to the %zu points still missed: wrote %" PRIu64 " checkpoints (%" PRIu64 " incremental), %" PRIu64
          " bytes, achieved %" PRIu64 "; %.2f s after the program's end, %zu replays from the checkpoints before them\n",
          missed.size(), t.written, t.incremental, t.bytes, t.achieved, secs, segments);
  if (t.first_missed) {
    // The first point neither writer achieved (a failed stretch's are told
    // above), and why the copy was not had.
    auto why = missed_why_.find(t.first_missed);
    fprintf(stderr, "rr: point %" PRIu64 " not achieved: neither copied nor replayed to%s\n", t.first_missed,
            why == missed_why_.end() ? "" : (" (the copy: " + why->second + ")").c_str());
  }
}

}  // namespace rr
