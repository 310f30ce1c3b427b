#include "gdb/snapshot_cache.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint/checkpoint.h"
#include "checkpoint/restore.h"
#include "trace/block_stream.h"
#include "util/fatal.h"
#include "util/io.h"

namespace rr {

namespace {

constexpr size_t kMaxAutoSnapshots = 16;

}  // namespace

SnapshotCache::SnapshotCache(std::string trace_dir, bool use_checkpoints)
    : trace_dir_(std::move(trace_dir)), use_checkpoints_(use_checkpoints) {}

SnapshotCache::~SnapshotCache() {
  while (!snapshots_.empty()) drop(snapshots_.begin());
  if (!private_dir_.empty()) rmdir(private_dir_.c_str());
}

bool SnapshotCache::copies_wanted() {
  static const bool wanted = [] {
    const char* v = getenv("RR_GDB_CLONES");
    return !(v && std::string(v) == "0");
  }();
  return wanted;
}

void SnapshotCache::drop(std::vector<Snapshot>::iterator it) {
  if (!it->persistent && !it->path.empty()) unlink(it->path.c_str());
  snapshots_.erase(it);
}

std::string SnapshotCache::private_dir() {
  if (private_dir_.empty()) {
    struct stat st;
    std::string base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    if (const char* t = getenv("TMPDIR"); t && *t && base == "/tmp") base = t;
    std::string templ = base + "/rr-gdb-XXXXXX";
    if (!mkdtemp(templ.data())) fatal_errno("cannot create a folder for gdb checkpoints in " + base);
    private_dir_ = templ;
  }
  return private_dir_;
}

Result<Snapshot> SnapshotCache::take(ReplaySession& s, const Mark& m, bool copy_only) {
  Snapshot snap;
  snap.mark = m;
  if (copies_wanted()) {
    // clone() refuses where no copy can be made. A copy is kept only if it
    // can be copied in turn (PID namespaces nest 32 deep; a file's restore
    // starts at the top again).
    auto copy = s.clone();
    if (copy.ok() && copy.value()->can_clone()) {
      snap.frozen = std::move(copy.value());
      return snap;
    }
  }
  if (copy_only) return make_error("no copy of the replay can be kept here");
  snap.path = private_dir() + "/" + std::to_string(next_file_++) + ".rrcp";
  auto st = write_checkpoint_to(s, Codec::Zstd, snap.path, &m, false);
  if (!st.ok()) return st.take_error();
  return snap;
}

bool SnapshotCache::holds(const Mark& m) const {
  return std::any_of(snapshots_.begin(), snapshots_.end(), [&](const Snapshot& s) { return s.mark == m; });
}

void SnapshotCache::keep_automatic(Snapshot snap) {
  snapshots_.push_back(std::move(snap));
  auto automatic = [](const Snapshot& x) { return x.id == 0 && !x.persistent; };
  if ((size_t)std::count_if(snapshots_.begin(), snapshots_.end(), automatic) <= kMaxAutoSnapshots) return;
  auto victim = std::find_if(snapshots_.begin(), snapshots_.end(), [&](const Snapshot& x) { return automatic(x) && x.near; });
  drop(victim != snapshots_.end() ? victim : std::find_if(snapshots_.begin(), snapshots_.end(), automatic));
}

Result<std::vector<Snapshot>> SnapshotCache::starting_points() const {
  std::vector<Snapshot> choices = snapshots_;
  if (use_checkpoints_) {
    RR_ASSIGN_OR_RETURN(std::unique_ptr<TraceReader> reader, TraceReader::open(trace_dir_));
    for (const CheckpointEntry& e : list_checkpoints(trace_dir_, reader->uuid())) {
      if (!e.problem.empty()) continue;
      Snapshot s;
      s.mark.event = e.event;
      s.path = e.path;
      s.persistent = true;
      choices.push_back(s);
    }
  }
  std::stable_sort(choices.begin(), choices.end(), [](const Snapshot& a, const Snapshot& b) {
    if (a.mark.event != b.mark.event) return a.mark.event > b.mark.event;
    return route_weight(a.mark) > route_weight(b.mark);
  });
  return choices;
}

Result<std::unique_ptr<ReplaySession>> SnapshotCache::start_from(const Snapshot& c) {
  std::unique_ptr<ReplaySession> s;
  std::string failure;
  if (c.frozen) {
    auto copy = c.frozen->clone();
    if (copy.ok()) s = std::move(copy.value());
    else failure = copy.error().message;
  }
  if (!s && !c.path.empty()) {
    RR_ASSIGN_OR_RETURN(s, ReplaySession::open(trace_dir_));
    Status st = restore_checkpoint(*s, c.path);
    if (!st.ok()) {
      s.reset();
      failure = st.error().message;
    }
  }
  if (s) return s;
  fprintf(stderr, "rr: cannot start from %s: %s\n", c.path.empty() ? "a copy in memory" : c.path.c_str(), failure.c_str());
  for (auto it = snapshots_.begin(); it != snapshots_.end(); ++it)
    if (!it->persistent && it->frozen == c.frozen && it->path == c.path) {
      drop(it);
      break;
    }
  return s;
}

// --- gdb checkpoints --------------------------------------------------------

int SnapshotCache::add_checkpoint(Snapshot snap, const std::string& note) {
  snap.id = next_id_++;
  snap.note = note;
  snapshots_.push_back(std::move(snap));
  return snapshots_.back().id;
}

Status SnapshotCache::delete_checkpoint(int id) {
  for (auto it = snapshots_.begin(); it != snapshots_.end(); ++it) {
    if (it->id != id) continue;
    drop(it);
    return {};
  }
  return make_error("no checkpoint " + std::to_string(id));
}

Snapshot* SnapshotCache::checkpoint(int id) {
  for (Snapshot& c : snapshots_)
    if (c.id == id) return &c;
  return nullptr;
}

std::vector<int> SnapshotCache::checkpoint_ids() const {
  std::vector<int> ids;
  for (const Snapshot& c : snapshots_)
    if (c.id) ids.push_back(c.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<int> SnapshotCache::write_checkpoints() {
  RR_TRY(make_dirs(checkpoints_dir(trace_dir_)));
  int written = 0;
  for (Snapshot& s : snapshots_) {
    if (s.id == 0 || s.persistent) continue;
    // A point inside an event gets a name that never seeds `-g EVT`.
    std::string name = checkpoint_path(trace_dir_, s.mark.event);
    for (int k = 0; !s.mark.at_boundary() || path_exists(name); ++k) {
      name = checkpoints_dir(trace_dir_) + "/" + std::to_string(s.mark.event) + "-" + std::to_string(route_weight(s.mark)) +
             (k ? std::string("-") + std::to_string(k) : std::string()) + ".rrcp";
      if (!path_exists(name)) break;
    }
    // Through a temporary name, synced, then renamed: a full disk or a
    // crash leaves no partial file under the real name.
    if (s.frozen) {
      auto st = write_checkpoint_to(*s.frozen, Codec::Zstd, name, &s.mark, true);
      if (!st.ok()) return st.take_error();
    } else {
      RR_ASSIGN_OR_RETURN(std::string bytes, read_file(s.path));
      RR_TRY(write_file_atomic(name, bytes.data(), bytes.size()));
    }
    if (!s.path.empty()) unlink(s.path.c_str());
    s.path = name;
    s.persistent = true;
    ++written;
  }
  return written;
}

Result<int> SnapshotCache::load_checkpoints() {
  RR_ASSIGN_OR_RETURN(std::unique_ptr<TraceReader> reader, TraceReader::open(trace_dir_));
  std::string dir = checkpoints_dir(trace_dir_);
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 5 && n.compare(n.size() - 5, 5, ".rrcp") == 0 && n[0] != '.') names.push_back(dir + "/" + n);
    }
    closedir(d);
  }
  int added = 0;
  std::vector<Snapshot> loaded;
  for (const std::string& path : names) {
    bool known = std::any_of(snapshots_.begin(), snapshots_.end(), [&](const Snapshot& s) { return s.path == path && s.id; });
    if (known) continue;
    auto ck = CheckpointReader::open(path, reader->uuid());
    if (!ck.ok()) {
      fprintf(stderr, "rr: skipping checkpoint %s: %s\n", path.c_str(), ck.error().message.c_str());
      continue;
    }
    Snapshot s;
    s.mark = checkpoint_position(ck.value()->info());
    s.path = path;
    s.persistent = true;
    s.note = "loaded from " + path.substr(path.rfind('/') + 1);
    loaded.push_back(s);
  }
  // Numbered in replay order.
  std::stable_sort(loaded.begin(), loaded.end(), [](const Snapshot& a, const Snapshot& b) {
    return a.mark.event != b.mark.event ? a.mark.event < b.mark.event : route_weight(a.mark) < route_weight(b.mark);
  });
  for (Snapshot& s : loaded) {
    s.id = next_id_++;
    snapshots_.push_back(s);
    ++added;
  }
  return added;
}

}  // namespace rr
