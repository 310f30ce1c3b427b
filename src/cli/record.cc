// rr record [-o DIR] [-w] [--syscall-buffer|--no-syscall-buffer] [--progress-counter|--no-progress-counter] [--timeslice N] [--chaos] [--checkpoint-every N|Ns] PROG [ARGS...]
#include <sys/random.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "cli/command.h"
#include "cli/record_checkpoints.h"
#include "record/record_session.h"

namespace rr {

int cmd_record(const Args& args) {
  RecordOptions opts;
  bool timeslice_given = false;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-o" || a == "--output-trace-dir") {
      if (i + 1 >= args.size()) return fail("-o needs a directory");
      opts.output_dir = args[++i];
    } else if (a == "-q" || a == "--quiet") {
      opts.quiet = true;
    } else if (a == "-w" || a == "--wait") {
      opts.wait_for_all = true;
    } else if (a == "--no-syscall-buffer") {
      opts.syscall_buffer = false;
    } else if (a == "--syscall-buffer") {
      opts.syscall_buffer = true;
    } else if (a == "--progress-counter") {
      opts.progress_counter = true;
    } else if (a == "--no-progress-counter") {
      opts.progress_counter = false;
    } else if (a == "--chaos") {
      opts.chaos = true;
    } else if (a == "--timeslice") {
      if (i + 1 >= args.size()) return fail("--timeslice needs a number of counted branches");
      const std::string& v = args[++i];
      char* end = nullptr;
      errno = 0;
      unsigned long long n = strtoull(v.c_str(), &end, 10);
      if (v.empty() || v[0] == '-' || *end || errno || n == 0)
        return fail("--timeslice needs a positive number of counted branches, not '" + v + "'");
      opts.timeslice = n;
      timeslice_given = true;
    } else if (a == "--checkpoint-every") {
      if (i + 1 >= args.size()) return fail("--checkpoint-every needs a number of events (N) or of seconds (Ns)");
      auto every = parse_checkpoint_every(args[++i]);
      if (!every.ok()) return fail(every.error().message);
      opts.checkpoint_every = every.value();
    } else if (a == "--") {
      ++i;
      break;
    } else if (!a.empty() && a[0] == '-') {
      return fail("unknown record option " + a);
    } else {
      break;
    }
  }
  if (i >= args.size()) return fail("usage: rr record [-o DIR] [-w] [--syscall-buffer|--no-syscall-buffer] [--progress-counter|--no-progress-counter] [--timeslice N] [--chaos] [--checkpoint-every N|Ns] PROG [ARGS...]");
  if (timeslice_given && !opts.progress_counter) return fail("--timeslice needs the progress counter (not --no-progress-counter)");
  if (opts.chaos && !opts.progress_counter) return fail("--chaos needs the progress counter (not --no-progress-counter)");
  if (opts.chaos && getrandom(&opts.chaos_seed, sizeof opts.chaos_seed, 0) != sizeof opts.chaos_seed)
    return fail("--chaos cannot draw a seed: " + std::string(strerror(errno)));
  opts.argv.assign(args.begin() + i, args.end());
  // Checkpoints while recording (record_checkpoints.h,
  // docs/record-checkpoints.md): by default copied from the recorded
  // processes, and the points no copy achieved replayed to once the
  // recording has ended; RR_CHECKPOINT_WRITER=copy copies only, =replay
  // starts a follower that replays the trace as it is written.
  std::unique_ptr<RecordCheckpointer> checkpointer;
  std::unique_ptr<RecordCopier> copier;
  const std::string writer = getenv("RR_CHECKPOINT_WRITER") ? getenv("RR_CHECKPOINT_WRITER") : "";
  if (!writer.empty() && writer != "hybrid" && writer != "copy" && writer != "replay")
    return fail("RR_CHECKPOINT_WRITER must be hybrid, copy or replay, not " + writer);
  if (opts.checkpoint_every.on() && writer != "replay") {
    copier = std::make_unique<RecordCopier>(opts.checkpoint_every, writer != "copy");
    copier->set_quiet(opts.quiet);
    opts.on_copy_point = [&](const RecordPoint& point) { return copier->on_point(point); };
    opts.share_missed_points = [&] { return copier->tells_missed_points(); };
  } else if (opts.checkpoint_every.on()) {
    checkpointer = std::make_unique<RecordCheckpointer>(opts.checkpoint_every);
    checkpointer->set_quiet(opts.quiet);
    opts.on_point = [&](const std::string& dir, uint64_t event, size_t shared_files) {
      checkpointer->on_point(dir, event, shared_files);
    };
  }
  Result<int> status = RecordSession::record(opts);
  if (checkpointer) checkpointer->finish(opts.quiet || !status.ok());
  if (copier) copier->finish(opts.quiet || !status.ok(), status.ok() && writer != "copy");
  if (!status.ok()) return fail(status.error().message);
  return status.value();
}

}  // namespace rr
