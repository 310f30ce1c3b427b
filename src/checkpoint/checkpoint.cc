#include "checkpoint/checkpoint.h"

#include <set>

#include <algorithm>
#include <cpuid.h>
#include <sys/mman.h>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <chrono>
#include <cinttypes>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <optional>
#include <random>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <unordered_map>
#include <xxhash.h>
// XXH3 through the library's runtime choice of SSE2, AVX2 or AVX-512 (the
// same hashes, four times the speed of XXH64 here with AVX2).
#include <xxh_x86dispatch.h>

#include "checkpoint/base_pages.h"
#include "checkpoint/shared_objects.h"
#include "core/address_space.h"
#include "core/page_scan.h"
#include "core/remote_syscalls.h"
#include "core/task.h"
#include "core/task_state.h"
#include "core/write_tracker.h"
#include "replay/replay_session.h"
#include "trace/trace_files.h"
#include "util/fatal.h"
#include "util/invariant.h"
#include "util/io.h"
#include "util/threads.h"

namespace rr {

namespace {

constexpr char kMagic[8] = {'R', 'R', 'C', 'K', 'P', 'T', '\0', '\1'};
constexpr size_t kPagesPerBlock = 256;  // 1 MiB of raw page data per block

struct FileHeader {
  char magic[8];
  uint32_t major;
  uint32_t minor;
  uint8_t uuid[16];
  uint64_t event;
  uint64_t info_offset;
  uint64_t info_size;
  uint64_t info_checksum;
};
static_assert(sizeof(FileHeader) == 64);

struct PageHash {
  size_t operator()(const XXH128_hash_t& h) const { return h.low64 ^ (h.high64 * 31); }
};
struct PageHashEq {
  bool operator()(const XXH128_hash_t& a, const XXH128_hash_t& b) const { return XXH128_isEqual(a, b); }
};

// Streams distinct pages into compressed, checksummed blocks. Compression
// and file writes run on a worker thread, so that they overlap with reading
// and hashing the tracee's memory on the calling thread.
class PageBlockWriter {
 public:
  // With `drop_cache`, written data leaves the page cache as it goes (see writeback()).
  PageBlockWriter(int fd, uint64_t offset, Codec codec, std::string path, bool drop_cache)
      : fd_(fd), offset_(offset), drop_cache_(drop_cache), codec_(codec), path_(std::move(path)),
        worker_(thread_with_signals_blocked([this] { work(); })) {
    if (!worker_.joinable()) throw FatalError("cannot start the checkpoint's compression thread");
  }
  ~PageBlockWriter() {
    Status ignored = finish();
    (void)ignored;
  }

  struct Ref {
    uint32_t block, offset;
    bool in_base = false;  // a block of the base checkpoint
  };

  // `hash` is the page's XXH128, kept as the block's pageHashes.
  Ref add(const uint8_t* page, XXH128_hash_t hash) {
    if (raw_.size() >= kPagesPerBlock * kPageSize) submit();
    Ref r{next_block_, (uint32_t)raw_.size()};
    raw_.insert(raw_.end(), page, page + kPageSize);
    if (hashes_.size() <= next_block_) hashes_.resize(next_block_ + 1);
    hashes_[next_block_].append(reinterpret_cast<const char*>(&hash.low64), 8);
    hashes_[next_block_].append(reinterpret_cast<const char*>(&hash.high64), 8);
    return r;
  }
  // The page hashes of block `index`.
  const std::string& hashes(size_t index) const { return hashes_[index]; }

  // Submits the last block, waits for the worker and returns its status.
  Status finish() {
    if (worker_.joinable()) {
      submit();
      {
        std::lock_guard<std::mutex> lock(mu_);
        done_ = true;
      }
      cv_.notify_all();
      worker_.join();
    }
    return status_;
  }

  struct Block {
    uint64_t file_offset;
    uint32_t stored, raw;
    uint8_t codec;
    uint64_t checksum;
  };
  const std::vector<Block>& blocks() const { return blocks_; }
  uint64_t offset() const { return offset_; }

 private:
  void submit() {
    if (raw_.empty()) return;
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return queue_.size() < 4; });
    queue_.push_back(std::move(raw_));
    raw_ = std::vector<uint8_t>();
    raw_.reserve(kPagesPerBlock * kPageSize);
    ++next_block_;
    cv_.notify_all();
  }

  void work() {
    std::vector<uint8_t> stored;
    for (;;) {
      std::vector<uint8_t> raw;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return !queue_.empty() || done_; });
        if (queue_.empty()) return;
        raw = std::move(queue_.front());
        queue_.pop_front();
        cv_.notify_all();
      }
      if (!status_.ok()) continue;
      status_ = write_block(raw, stored);
    }
  }

  Status write_block(const std::vector<uint8_t>& raw, std::vector<uint8_t>& stored) {
    Codec codec = codec_;
    if (codec != Codec::None) {
      RR_TRY(compress_block(codec, raw.data(), raw.size(), stored));
      // Random bytes are kept as they are, which a restore reads straight
      // into place instead of through the decompressor's copy.
      if (!worth_compressing(stored.size(), raw.size())) codec = Codec::None;
    }
    const std::vector<uint8_t>& out = codec == Codec::None ? raw : stored;
    if (codec == Codec::None) {
      // Page-aligned, so that a reader could map uncompressed data directly.
      uint64_t aligned = page_ceil(offset_);
      if (aligned != offset_) {
        std::vector<uint8_t> pad(aligned - offset_, 0);
        RR_TRY(write_all(fd_, pad.data(), pad.size(), path_));
        offset_ = aligned;
      }
    }
    reserve(offset_ + out.size());
    RR_TRY(write_all(fd_, out.data(), out.size(), path_));
    blocks_.push_back(Block{offset_, (uint32_t)out.size(), (uint32_t)raw.size(), (uint8_t)codec,
                            XXH64(raw.data(), raw.size(), 0)});
    offset_ += out.size();
    if (drop_cache_) writeback();
    return {};
  }

  // Starts writeback of each complete 32 MiB window and, once the window
  // before it is on disk, drops it from the page cache, so a checkpoint
  // never holds more than about 64 MiB of cache. On this VM page-cache
  // pages new to the guest cost about 5 us each (host faults): 360 MB took
  // 0.5 s to write into new pages, 0.1 s this way. Errors are ignored here:
  // the final fsync decides.
  void writeback() {
    constexpr uint64_t kWindow = 32ull << 20;
    while (offset_ - flushed_ >= kWindow) {
      sync_file_range(fd_, flushed_, kWindow, SYNC_FILE_RANGE_WRITE);
      if (flushed_ >= kWindow) {
        uint64_t prev = flushed_ - kWindow;
        // Pages still dirty or under writeback are not dropped: wait first.
        sync_file_range(fd_, prev, kWindow,
                        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
        posix_fadvise(fd_, prev, kWindow, POSIX_FADV_DONTNEED);
      }
      flushed_ += kWindow;
    }
  }

  // Allocates file space ahead of the writes, in large steps: writing into
  // allocated extents is several times faster on ext4 than growing the
  // file a block at a time. The caller truncates the file to its real end.
  void reserve(uint64_t end) {
    if (end <= reserved_ || reserve_failed_) return;
    uint64_t step = 64ull << 20;
    uint64_t target = (end + step - 1) / step * step;
    if (fallocate(fd_, 0, reserved_, target - reserved_) == 0)
      reserved_ = target;
    else
      reserve_failed_ = true;  // e.g. not supported, or the disk is nearly full: plain writes
  }

  int fd_;
  uint64_t offset_;
  bool drop_cache_ = false;
  uint64_t flushed_ = 0;
  uint64_t reserved_ = 0;
  bool reserve_failed_ = false;
  Codec codec_;
  std::string path_;
  std::vector<uint8_t> raw_;
  std::vector<std::string> hashes_;  // per block, filled by add()
  uint32_t next_block_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<uint8_t>> queue_;
  bool done_ = false;
  Status status_;
  std::vector<Block> blocks_;  // written by the worker, read after finish()
  std::thread worker_;
};

}  // namespace

void kernel_state_to(const TaskKernelState& k, ckpt::TaskState::Builder out) {
  out.setSigmask(k.sigmask);
  auto list = out.initSigactions(k.sigactions.size());
  for (size_t i = 0; i < k.sigactions.size(); ++i) {
    list[i].setSigno(k.sigactions[i].first);
    list[i].setRaw(capnp_bytes(k.sigactions[i].second));
  }
  out.setAltStackSp(k.altstack_sp);
  out.setAltStackFlags(k.altstack_flags);
  out.setAltStackSize(k.altstack_size);
  out.setRobustListHead(k.robust_list_head);
  out.setRobustListLen(k.robust_list_len);
  out.setTidAddress(k.tid_address);
}

std::string checkpoints_dir(const std::string& trace_dir) { return trace_dir + "/checkpoints"; }

std::string checkpoint_path(const std::string& trace_dir, uint64_t event) {
  return checkpoints_dir(trace_dir) + "/" + std::to_string(event) + ".rrcp";
}

namespace {

// The usable checkpoint of trace `uuid` at the start of `event` under
// `path`, as what a write that keeps it returns; nullopt when there is none
// (or it is damaged, foreign, or stands inside the event).
std::optional<CheckpointStats> usable_at(const std::string& path, const std::string& uuid, uint64_t event) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return std::nullopt;
  auto r = CheckpointReader::open(path, uuid);
  if (!r.ok() || r.value()->info().getEvent() != event || !checkpoint_position(r.value()->info()).at_boundary())
    return std::nullopt;
  CheckpointStats kept;
  kept.event = event;
  kept.path = path;
  kept.file_bytes = (uint64_t)st.st_size;
  kept.base_event = r.value()->info().getBase().getEvent();
  kept.kept = true;
  return kept;
}

}  // namespace

Result<CheckpointStats> write_checkpoint(ReplaySession& session, Codec codec, const CheckpointReader* base,
                                         WriteTracker* tracker) {
  const std::string& dir = session.trace_dir();
  RR_TRY(make_dirs(checkpoints_dir(dir)));
  std::string path = checkpoint_path(dir, session.current_event());
  // Replacing it would break the incremental checkpoints written against it.
  if (auto kept = usable_at(path, session.reader().uuid(), session.current_event())) return *kept;
  return write_checkpoint_to(session, codec, path, nullptr, true, base, tracker);
}

Mark checkpoint_position(ckpt::CheckpointInfo::Reader info) {
  Mark m;
  m.event = info.getEvent();
  for (auto p : info.getPosition()) {
    Piece piece;
    piece.step = p.getStep();
    piece.count = p.getCount();
    piece.until = RemotePtr<>(p.getUntil());
    piece.whole = p.getWhole();
    piece.ticks = p.getTicks();
    for (uint64_t a : p.getBreaks()) piece.traps.sw.push_back(RemotePtr<>(a));
    for (auto w : p.getWatches()) piece.traps.hw.push_back(HwWatch{RemotePtr<>(w.getAddr()), w.getLen(), (WatchKind)w.getKind()});
    m.pieces.push_back(std::move(piece));
  }
  if (info.getPositionTicksKnown() && !m.pieces.empty()) m.ticks = info.getPositionTicks();
  return m;
}

namespace {

// The supervisor's part of the info: the event, where the next frame is,
// the counters, the first process's fate, and the point inside the next
// event (`position`) for a gdb checkpoint.
void write_supervisor(ckpt::CheckpointInfo::Builder info, const CheckpointSource& source, const Mark* position) {
  info.setEvent(source.event);
  info.setTraceUuid(capnp_bytes(source.uuid));
  info.setCreatedAtNs(std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count());
  info.setEventsBlock(source.next_frame.block_offset);
  info.setEventsIndex(source.next_frame.record_index);
  const ReplayCounters& c = source.counters;
  auto counters = info.initCounters();
  counters.setSyscalls(c.syscalls);
  counters.setEmulated(c.emulated);
  counters.setExecuted(c.executed);
  counters.setSignals(c.signals);
  counters.setRdtsc(c.rdtsc);
  counters.setBytesWritten(c.bytes_written);
  info.setInitialTid(source.initial_tid.value);
  info.setInitialExited(source.exited);
  info.setExitCode(source.exit_code);
  info.setKilledBy(source.killed_by);
  if (position && !position->pieces.empty()) {
    auto plist = info.initPosition(position->pieces.size());
    for (size_t i = 0; i < position->pieces.size(); ++i) {
      const Piece& p = position->pieces[i];
      plist[i].setStep(p.step);
      plist[i].setCount(p.count);
      plist[i].setUntil(p.until.as_int());
      plist[i].setWhole(p.whole);
      plist[i].setTicks(p.ticks);
      auto b = plist[i].initBreaks(p.traps.sw.size());
      for (size_t k = 0; k < p.traps.sw.size(); ++k) b.set(k, p.traps.sw[k].as_int());
      auto w = plist[i].initWatches(p.traps.hw.size());
      for (size_t k = 0; k < p.traps.hw.size(); ++k) {
        w[k].setAddr(p.traps.hw[k].addr.as_int());
        w[k].setLen(p.traps.hw[k].len);
        w[k].setKind((uint8_t)p.traps.hw[k].kind);
      }
    }
    if (position->ticks) {
      info.setPositionTicksKnown(true);
      info.setPositionTicks(*position->ticks);
    }
  }
}

void write_fds(const FdTable& table, capnp::List<ckpt::FdEntry>::Builder out) {
  size_t i = 0;
  for (const auto& [num, e] : table.entries()) {
    out[i].setFd(num);
    out[i].setKind((uint8_t)e.kind);
    out[i].setCloexec(e.cloexec);
    ++i;
  }
}

// Runs `body` with calls inside `t`, as the source wants them made.
void with_calls_inside(const CheckpointSource& source, Task& t, const std::function<void(RemoteSyscalls&)>& body) {
  if (source.calls_inside) return source.calls_inside(t, body);
  RemoteSyscalls rs(t);
  body(rs);
}

// Every thread of one process, its leader first: registers, XSAVE and
// the kernel-side state.
void write_tasks(const CheckpointSource& source, const std::vector<const SourceTask*>& list,
                 ckpt::ProcessState::Builder proc) {
  auto tlist = proc.initTasks(list.size());
  // The process's signal actions, for threads held inside calls, read
  // through a thread that is not.
  std::optional<std::vector<std::pair<int, std::string>>> actions;
  auto write_one = [&](size_t k) {
    const SourceTask& st = *list[k];
    Task& tk = *st.task;
    auto task = tlist[k];
    task.setRecordedTid(tk.recorded_tid().value);
    task.setAtSyscallEntry(st.at_entry);
    task.setSeccompFiltered(st.filtered);
    TaskKernelState kernel;
    if (st.held) {
      kernel = st.held->kernel;
      kernel.sigactions = *actions;
    } else {
      with_calls_inside(source, tk, [&](RemoteSyscalls& rs) { kernel = TaskKernelState::capture(tk, rs, true); });
      if (!actions) actions = kernel.sigactions;
    }
    kernel_state_to(kernel, task);
    // sigaltstack answers SS_DISABLE also for a task that never set a stack.
    task.setAltStackNeverSet((kernel.altstack_flags & SS_DISABLE) && !st.altstack_disabled);
    regs_to_capnp(st.held ? st.held->regs : tk.regs(), task.initRegs());
    std::string xs = st.held ? st.held->xsave : tk.xsave();
    task.setXsave(capnp_bytes(xs));
  };
  for (size_t k = 0; k < list.size(); ++k)
    if (!list[k]->held) write_one(k);
  if (!actions) {
    auto asleep = source.asleep.find(list[0]->tgid);
    if (asleep == source.asleep.end())
      throw FatalError("every thread of process " + std::to_string(list[0]->tgid.value) + " is inside a syscall");
    actions = asleep->second.actions;
  }
  for (size_t k = 0; k < list.size(); ++k)
    if (list[k]->held) write_one(k);
}

// The thread of a process through which its calls are made and its memory
// read: its leader, or the first that is not held inside a call.
Task& process_actor(const std::vector<const SourceTask*>& list) {
  for (const SourceTask* st : list)
    if (!st->held) return *st->task;
  return *list[0]->task;
}

// A mapping of a shared object (ckpt::ObjectMap).
struct ObjectMapRecord {
  uint32_t mapping, object;
  bool writable;
};

// The kernel's view of the layout of `t`'s process, its local descriptor
// table and its protection keys, from what calls inside it answered
// (`asked`), with what a restore could not make again refused.
Status check_layout(const CheckpointSource& source, Task& t, const LayoutByCalls& asked,
                    const std::vector<MapEntry>& maps, ProcessImage& img) {
  img.mm = capture_mm(t, asked.brk);
  // A local descriptor table (modify_ldt) would be gone after a restore.
  if (asked.has_ldt)
    return make_error(ErrorKind::Unsupported, "the program has a local descriptor table (modify_ldt) at event " +
                                                  std::to_string(source.event) +
                                                  ": checkpoints do not save it yet");
  // Protection keys the program allocated, for a restore to allocate again.
  if (!asked.pkeys_unknown.empty())
    return make_error(ErrorKind::Unsupported, "cannot tell which memory protection keys the program holds at event " +
                                                  std::to_string(source.event) + " (" + asked.pkeys_unknown + ")");
  // An execute-only mapping of the program's (PROT_EXEC alone; not the
  // kernel's [vsyscall]) makes the kernel take a key for itself, the first
  // free one when the mapping was made, and deny reads through it in PKRU:
  // a restore could not make the kernel take the same one.
  for (const MapEntry& e : maps)
    if (e.prot == PROT_EXEC && e.pkey != 0 && (e.name.empty() || e.name[0] != '['))
      return make_error(ErrorKind::Unsupported, "the program has an execute-only mapping (the kernel's protection key " +
                                                    std::to_string(e.pkey) + ") at event " +
                                                    std::to_string(source.event) +
                                                    ": checkpoints do not save it yet");
  img.pkeys = asked.pkeys;
  return {};
}

// The layout of the process `t` leads: its mappings (trace files by their
// names in the trace), the kernel's mm fields and the executable.
// Mappings of shared objects (found or added by `objects`) are recorded
// anonymous and shared, and listed in `object_maps`.
Result<ProcessImage> capture_layout(const CheckpointSource& source, Task& t, RecordedTid tgid,
                                    std::vector<ObjectMapRecord>& object_maps) {
  // Mappings and the kernel's view of the layout.
  ProcessImage img;
  std::string proc_dir = "/proc/" + std::to_string(t.tid());
  std::string prefix = source.trace_dir + "/";
  // smaps, not maps: only it says which mappings are MAP_NORESERVE.
  auto smaps = read_file(proc_dir + "/smaps");
  if (!smaps.ok()) return make_error("cannot read " + proc_dir + "/smaps: " + smaps.error().message);
  std::vector<MapEntry> maps = parse_smaps(smaps.value());
  for (const MapEntry& e : maps) {
    MappingRecord m = mapping_record(e);
    if (source.refuse_mapping && m.backing != Backing::Special) RR_TRY(source.refuse_mapping(e));
    if (!source.objects && m.backing != Backing::Special && is_anon_shared(e))
      return make_error(ErrorKind::Unsupported, "the program has shared memory at event " + std::to_string(source.event) +
                                                    ": this writer does not save it");
    int object = m.backing == Backing::Special || !source.objects ? -1 : source.objects->object_of(t, e);
    if (object >= 0) {
      m.backing = Backing::Anonymous;
      object_maps.push_back(ObjectMapRecord{(uint32_t)img.mappings.size(), (uint32_t)object, e.maywrite});
      img.mappings.push_back(m);
      continue;
    }
    bool named_file = m.backing != Backing::Special && e.inode != 0 && !e.name.empty() && e.name[0] == '/' &&
                      e.name.rfind("/dev/zero", 0) != 0;
    if (named_file) {
      RR_ASSIGN_OR_RETURN(MappingName n, source.file_in_trace(t, e));
      m.backing = Backing::File;
      m.file = n.file;
      m.name = prefix + n.file;
      if (n.as_private) m.shared = false;
    }
    img.mappings.push_back(m);
  }
  auto asleep = source.asleep.find(tgid);
  LayoutByCalls asked;
  if (asleep != source.asleep.end()) asked = asleep->second.layout;
  else with_calls_inside(source, t, [&](RemoteSyscalls& rs) { asked = probe_layout_by_calls(t, rs); });
  RR_TRY(check_layout(source, t, asked, maps, img));
  char exe[4096];
  ssize_t n = readlink((proc_dir + "/exe").c_str(), exe, sizeof(exe) - 1);
  RR_ASSIGN_OR_RETURN(img.mm.exe_file, source.exe_in_trace(t, n > 0 ? std::string(exe, n) : ""));
  img.exe_path = prefix + img.mm.exe_file;
  return img;
}

// A page kept once for several addresses.
struct PageHashes {
  std::unordered_map<XXH128_hash_t, PageBlockWriter::Ref, PageHash, PageHashEq> seen;
  // Every page of the base checkpoint and of the bases it builds on,
  // known by the hashes their blocks carry: a page equal to one of them
  // is referred to there, by its block's number as the base's reader
  // counts them (its own blocks, then its base's).
  void add_base(const CheckpointReader& base) {
    uint32_t first = 0;
    for (const CheckpointReader* r = &base; r; r = r->base()) {
      auto blocks = r->info().getBlocks();
      for (uint32_t b = 0; b < blocks.size(); ++b) {
        auto h = blocks[b].getPageHashes();
        for (size_t k = 0; k + 16 <= h.size(); k += 16) {
          XXH128_hash_t hash;
          memcpy(&hash.low64, h.begin() + k, 8);
          memcpy(&hash.high64, h.begin() + k + 8, 8);
          seen.emplace(hash, PageBlockWriter::Ref{first + b, (uint32_t)(k / 16 * kPageSize), true});
        }
      }
      first += blocks.size();
    }
  }
};

// Stores `page`, or finds the identical page stored before.
PageBlockWriter::Ref store_page(const uint8_t* page, PageBlockWriter& blocks, PageHashes& hashes, CheckpointStats& stats) {
  XXH128_hash_t h = XXH3_128bits(page, kPageSize);
  auto it = hashes.seen.find(h);
  if (it != hashes.seen.end()) {
    ++(it->second.in_base ? stats.pages_in_base : stats.pages_duplicate);
    return it->second;
  }
  PageBlockWriter::Ref ref = blocks.add(page, h);
  hashes.seen.emplace(h, ref);
  ++stats.pages_stored;
  return ref;
}

// The pages of one process that a restore cannot derive: not zero, not
// equal to the trace file they map, not untouched; identical pages (across
// processes too) are stored once.
// Shared mappings of shared objects are left to SharedObjectWriter; of a
// private mapping of one, the pages the process has its own copy of.
// With `unwritten_in` (write tracking trusted since that base), pages not
// written since are the base's, not read.
Status write_pages(const CheckpointSource& source, Task& t, const ProcessImage& img,
                   const std::vector<ObjectMapRecord>& object_maps, const MemoryOverlay& overlay,
                   PageBlockWriter& blocks, PageHashes& hashes, CheckpointStats& stats,
                   ckpt::ProcessState::Builder proc, bool tracking, const BasePages* unwritten_in) {
  // Page contents: skip zero pages, pages equal to the trace file they
  // map, and pages never touched; store identical pages once.
  struct Stored {
    RemotePtr<> addr;
    PageBlockWriter::Ref ref;
  };
  std::vector<Stored> refs;
  PageScanner scanner(t, source.trace_dir);
  std::vector<uint8_t> patched;
  if (tracking) scanner.track_writes(unwritten_in != nullptr);
  bool verify = unwritten_in && verify_write_tracking();
  std::set<uint32_t> shared;
  for (const ObjectMapRecord& om : object_maps) shared.insert(om.mapping);
  for (size_t i = 0; i < img.mappings.size(); ++i) {
    const MappingRecord& m = img.mappings[i];
    if (shared.count(i) && !m.shared) {
      RR_TRY(source.objects->private_pages(t, m, [&](RemotePtr<> at, const uint8_t* page) {
        stats.resident_bytes += kPageSize;
        refs.push_back({at, store_page(page, blocks, hashes, stats)});
      }));
      continue;
    }
    if (m.backing == Backing::Special || shared.count(i)) continue;
    std::vector<std::pair<RemotePtr<>, size_t>> unwritten;
    scanner.scan(m, [&](RemotePtr<> addr, size_t n, PageKind kind, const uint8_t* bytes) {
      if (kind != PageKind::Untouched && kind != PageKind::Unreadable) stats.resident_bytes += n * kPageSize;
      if (!overlay.empty() && m.backing == Backing::Anonymous &&
          (kind == PageKind::Data || kind == PageKind::Zero || kind == PageKind::Untouched) &&
          overlay_touches(overlay, addr.as_int(), n)) {
        // Pages where replay's bytes are the overlay's, stored as such. A
        // run without bytes (zeros) can be long: only the pages the
        // overlay's pieces fall in are looked at.
        std::set<uint64_t> at_pages;
        if (bytes) {
          for (size_t p = 0; p < n; ++p) at_pages.insert(addr.as_int() + p * kPageSize);
        } else {
          uint64_t end = addr.as_int() + n * kPageSize;
          for (auto it = overlay.lower_bound(addr.as_int() >= kPageSize ? addr.as_int() - kPageSize : 0);
               it != overlay.end() && it->first < end; ++it)
            for (uint64_t a = it->first & ~(kPageSize - 1); a < it->first + it->second.size() && a < end; a += kPageSize)
              if (a >= addr.as_int()) at_pages.insert(a);
          stats.pages_zero += n - at_pages.size();
        }
        for (uint64_t at : at_pages) {
          const uint8_t* own = bytes ? bytes + (at - addr.as_int()) : nullptr;
          const uint8_t* page = overlay_page(overlay, at, own, patched);
          if (!page || is_zero_page(page))
            ++stats.pages_zero;
          else
            refs.push_back({RemotePtr<>(at), store_page(page, blocks, hashes, stats)});
        }
        return;
      }
      switch (kind) {
        case PageKind::Unwritten:
          stats.pages_unwritten += n;
          if (verify) unwritten.emplace_back(addr, n);
          for (size_t p = 0; p < n; ++p) {
            RemotePtr<> a = addr + p * kPageSize;
            if (const BasePages::Page* b = unwritten_in->find(a)) {
              refs.push_back({a, PageBlockWriter::Ref{b->block, b->offset, true}});
              ++stats.pages_in_base;
            } else {
              ++(m.backing == Backing::File ? stats.pages_backed : stats.pages_zero);
            }
          }
          return;
        case PageKind::Untouched:
        case PageKind::Zero:
          stats.pages_zero += n;
          return;
        case PageKind::AsFile:
          stats.pages_backed += n;
          return;
        case PageKind::Unreadable:
          return;
        case PageKind::Data:
          break;
      }
      for (size_t p = 0; p < n; ++p)
        refs.push_back({addr + p * kPageSize, store_page(bytes + p * kPageSize, blocks, hashes, stats)});
    });
    if (!unwritten.empty()) RR_TRY(verify_unwritten(t, source.trace_dir, m, unwritten, *unwritten_in));
  }
  auto pages = proc.initPages(refs.size());
  for (size_t k = 0; k < refs.size(); ++k) {
    pages[k].setAddr(refs[k].addr.as_int());
    pages[k].setBlock(refs[k].ref.block);
    pages[k].setOffset(refs[k].ref.offset);
    pages[k].setInBase(refs[k].ref.in_base);
  }
  return {};
}

}  // namespace

Result<CheckpointStats> write_checkpoint_to(ReplaySession& session, Codec codec, const std::string& path,
                                            const Mark* position, bool durable, const CheckpointReader* base,
                                            WriteTracker* tracker) {
  std::string pid_ns = session.pid_namespace_refusal();
  if (!pid_ns.empty()) return make_error(ErrorKind::Unsupported, "no checkpoint can be taken at this event: " + pid_ns);
  if (!session.can_checkpoint()) return make_error("no checkpoint can be taken at this event");
  CheckpointSource source;
  source.trace_dir = session.trace_dir();
  source.uuid = session.reader().uuid();
  source.event = session.current_event();
  source.next_frame = session.next_frame_position();
  source.counters = session.counters();
  source.initial_tid = session.initial_tid();
  source.exited = session.exited();
  source.exit_code = session.exit_code();
  source.killed_by = session.killed_by();
  for (const auto& [tid, rt] : session.tasks())
    source.tasks.push_back(SourceTask{rt->task.get(), rt->tgid, rt->where == ReplayTask::Where::AtEntry, rt->filtered,
                                      rt->altstack_disabled, rt->fds.get()});
  // A replay's processes map the trace's own copies.
  std::string prefix = source.trace_dir + "/";
  source.file_in_trace = [&](Task&, const MapEntry& e) -> Result<MappingName> {
    if (e.name.rfind(prefix, 0) != 0) return make_error("mapping of " + e.name + " is not part of the trace; cannot checkpoint");
    std::string rel = e.name.substr(prefix.size());
    return MappingName{Backing::File, rel, rel};
  };
  source.exe_in_trace = [&](Task&, const std::string& exe) -> Result<std::string> {
    if (exe.rfind(prefix, 0) != 0) return make_error("the executable is not part of the trace; cannot checkpoint");
    return exe.substr(prefix.size());
  };
  SharedObjectWriter objects(session);
  source.objects = &objects;
  return write_checkpoint_from(source, codec, path, position, durable, base, tracker);
}

namespace {

// One checkpoint being written: state() reads everything but the pages
// from the source's live processes, pages() reads the pages (from the
// processes themselves, or from copies of them made at the same moment)
// and close() writes the info and renames the file into place.
class CheckpointWriter {
 public:
  CheckpointWriter(const CheckpointSource& source, Codec codec, const std::string& path, const Mark* position,
                   bool durable, const CheckpointReader* base, WriteTracker* tracker)
      : source_(source), codec_(codec), position_(position ? std::optional<Mark>(*position) : std::nullopt),
        durable_(durable), base_(base), tracker_(tracker) {
    stats_.event = source.event;
    stats_.path = path;
  }
  ~CheckpointWriter() {
    blocks_.reset();
    if (!tmp_.empty() && !keep_tmp_) unlink(tmp_.c_str());
  }
  Status state(bool with_pages);
  // The pages of every process, read through `page_tasks` (by process, in
  // the order state() found them; null: read already by pages_now).
  Status pages(const std::vector<Task*>* page_tasks);
  // The pages of the k-th process state() found, read through its leader now.
  Status pages_now(size_t k) {
    try {
      return process_pages(procs_[k], *procs_[k].leader);
    } catch (const FatalError& e) {
      return make_error(std::string("cannot checkpoint event ") + std::to_string(stats_.event) + ": " + e.what());
    }
  }
  Result<CheckpointStats> close();
  // The leaders state() found, in its order, with their processes' recorded pids.
  std::vector<std::pair<Task*, RecordedTid>> leaders() const {
    std::vector<std::pair<Task*, RecordedTid>> out;
    for (const Process& p : procs_) out.emplace_back(p.leader, p.tgid);
    return out;
  }

 private:
  struct Process {
    Task* leader;
    RecordedTid tgid;
    ProcessImage img;
    std::vector<ObjectMapRecord> object_maps;
    std::optional<BasePages> unwritten_in;
    MemoryOverlay overlay;
    size_t index;  // in info.processes
  };
  Status process_pages(Process& p, Task& reader);
  const CheckpointSource& source_;
  Codec codec_;
  std::optional<Mark> position_;
  bool durable_;
  const CheckpointReader* base_;
  WriteTracker* tracker_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  bool trust_ = false;
  CheckpointStats stats_;
  std::string folder_, tmp_;
  ScopedFd fd_;
  bool keep_tmp_ = false;  // set once the file is renamed into place
  capnp::MallocMessageBuilder msg_;
  std::unique_ptr<PageBlockWriter> blocks_;
  PageHashes hashes_;
  bool base_hashes_loaded_ = false;
  std::vector<Process> procs_;
  std::set<pid_t> live_leaders_;  // for the tracker
  bool shares_tables_ = false, uses_pkeys_ = false;
};

Status CheckpointWriter::state(bool with_pages) {
  // Pages unwritten since the tracker's protection hold what its checkpoint
  // holds: trusted only when that checkpoint is this one's base. The scans
  // below protect again, so until this file is in place the protection
  // dates from no file.
  trust_ = tracker_ && base_ && tracker_->since(base_->path(), base_->info_checksum());
  if (tracker_) tracker_->clear_since();
  folder_ = stats_.path.substr(0, stats_.path.rfind('/'));
  static std::mt19937_64 rng(std::random_device{}());
  tmp_ = folder_ + "/.tmp-" + std::to_string(stats_.event) + "-" + std::to_string(getpid()) + "-" +
         std::to_string(rng() % 1000000000);
  fd_ = ScopedFd(::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd_.is_open()) {
    std::string failed = tmp_;
    tmp_.clear();
    return make_error("cannot create " + failed + ": " + errno_text());
  }

  auto info = msg_.initRoot<ckpt::CheckpointInfo>();
  write_supervisor(info, source_, position_ ? &*position_ : nullptr);

  // Processes by recorded pid, each with its leader first.
  std::map<RecordedTid, std::vector<const SourceTask*>> procs;
  for (const SourceTask& st : source_.tasks) procs[st.tgid].push_back(&st);
  for (auto& [tgid, list] : procs)
    std::stable_partition(list.begin(), list.end(),
                          [tgid = tgid](const SourceTask* st) { return st->task->recorded_tid() == tgid; });
  // A 1.0 reader takes the fd table from here (it only reads one process).
  write_fds(*procs.begin()->second[0]->fds, info.initFds(procs.begin()->second[0]->fds->entries().size()));

  try {
    FileHeader placeholder = {};
    RR_TRY(write_all(fd_.get(), &placeholder, sizeof(placeholder), tmp_));
    blocks_ = std::make_unique<PageBlockWriter>(fd_.get(), sizeof(placeholder), codec_, tmp_, durable_);
    // Identical pages are stored once, across processes too (fork shares most).
    if (base_) {
      auto b = info.initBase();
      b.setEvent(base_->info().getEvent());
      b.setInfoChecksum(base_->info_checksum());
      stats_.base_event = base_->info().getEvent();
    }
    // Processes that share an fd table (CLONE_FILES) name the first of them.
    std::map<const FdTable*, RecordedTid> table_owner;
    auto plist = info.initProcesses(procs.size());
    size_t pi = 0;
    for (const auto& [tgid, list] : procs) {
      auto proc = plist[pi];
      proc.setTgid(tgid.value);
      write_fds(*list[0]->fds, proc.initFds(list[0]->fds->entries().size()));
      auto [owner, first] = table_owner.emplace(list[0]->fds, tgid);
      if (!first) {
        proc.setFdTableOf(owner->second.value);
        shares_tables_ = true;
      }
      write_tasks(source_, list, proc);
      Task& t = process_actor(list);

      Process p{&t, tgid, {}, {}, {}, {}, pi++};
      RR_ASSIGN_OR_RETURN(p.img, capture_layout(source_, t, tgid, p.object_maps));
      if (tracker_) {
        std::set<uint32_t> of_objects;
        for (const ObjectMapRecord& om : p.object_maps) of_objects.insert(om.mapping);
        std::vector<MappingRecord> own;
        for (size_t k = 0; k < p.img.mappings.size(); ++k)
          if (!of_objects.count(k)) own.push_back(p.img.mappings[k]);
        tracker_->register_mappings(t, own);
        live_leaders_.insert(t.tid());
        if (trust_) p.unwritten_in.emplace(*base_, tgid);
        if (p.unwritten_in && !p.unwritten_in->has_process()) p.unwritten_in.reset();
      }
      image_to_capnp(p.img, proc.initImage());
      proc.setPkeys(p.img.pkeys);
      uses_pkeys_ = uses_pkeys_ || p.img.pkeys != 0 ||
                    std::any_of(p.img.mappings.begin(), p.img.mappings.end(),
                                [](const MappingRecord& m) { return m.pkey != 0; });
      auto omaps = proc.initObjectMaps(p.object_maps.size());
      for (size_t k = 0; k < p.object_maps.size(); ++k) {
        omaps[k].setMapping(p.object_maps[k].mapping);
        omaps[k].setObject(p.object_maps[k].object);
        omaps[k].setWritable(p.object_maps[k].writable);
      }
      if (source_.overlay) p.overlay = source_.overlay(t);
      RR_LOG("checkpoint: task and layout state %.3f s",
             std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
      procs_.push_back(std::move(p));
      if (with_pages) RR_TRY(process_pages(procs_.back(), t));
    }
  } catch (const FatalError& e) {
    if (source_.interrupted && source_.interrupted())
      return make_error(ErrorKind::Unsupported, std::string("at event ") + std::to_string(stats_.event) + ": " + e.what());
    return make_error(std::string("cannot checkpoint event ") + std::to_string(stats_.event) + ": " + e.what());
  }
  return {};
}

Status CheckpointWriter::process_pages(Process& p, Task& reader) {
  // The base's pages by their hashes: loaded with the pages (a writer that
  // reads copies does it on its own thread).
  if (base_ && !base_hashes_loaded_) {
    hashes_.add_base(*base_);
    base_hashes_loaded_ = true;
  }
  auto info = msg_.getRoot<ckpt::CheckpointInfo>();
  return write_pages(source_, reader, p.img, p.object_maps, p.overlay, *blocks_, hashes_, stats_,
                     info.getProcesses()[p.index], tracker_ != nullptr, p.unwritten_in ? &*p.unwritten_in : nullptr);
}

Status CheckpointWriter::pages(const std::vector<Task*>* page_tasks) {
  try {
    for (size_t k = 0; k < procs_.size(); ++k) {
      if (!(*page_tasks)[k]) continue;  // read already (pages_now)
      if (source_.copies_intact) RR_TRY(source_.copies_intact());
      RR_TRY(process_pages(procs_[k], *(*page_tasks)[k]));
    }
    // A copy killed meanwhile reads as unreadable pages: not this moment's.
    if (source_.copies_intact) RR_TRY(source_.copies_intact());
  } catch (const FatalError& e) {
    return make_error(std::string("cannot checkpoint event ") + std::to_string(stats_.event) + ": " + e.what());
  }
  return {};
}

Result<CheckpointStats> CheckpointWriter::close() {
  uint64_t info_checksum = 0;
  auto info = msg_.getRoot<ckpt::CheckpointInfo>();
  try {
    if (tracker_) tracker_->forget_all_but(live_leaders_);
    if (source_.objects)
      RR_TRY(source_.objects->write([&](const uint8_t* page) {
        PageBlockWriter::Ref r = store_page(page, *blocks_, hashes_, stats_);
        return StoredPage{r.block, r.offset, r.in_base};
      }, stats_, info));
    bool needs_4 = (source_.objects && source_.objects->count() > 0) || shares_tables_;
    auto pages_read = std::chrono::steady_clock::now();
    RR_TRY(blocks_->finish());
    RR_LOG("checkpoint: compression drained %.3f s",
           std::chrono::duration<double>(std::chrono::steady_clock::now() - pages_read).count());
    auto blist = info.initBlocks(blocks_->blocks().size());
    for (size_t k = 0; k < blocks_->blocks().size(); ++k) {
      const auto& b = blocks_->blocks()[k];
      blist[k].setFileOffset(b.file_offset);
      blist[k].setStoredSize(b.stored);
      blist[k].setRawSize(b.raw);
      blist[k].setCodec(b.codec);
      blist[k].setChecksum(b.checksum);
      blist[k].setPageHashes(capnp_bytes(blocks_->hashes(k)));
    }
    info.setResidentBytes(stats_.resident_bytes);

    kj::Array<capnp::word> words = capnp::messageToFlatArray(msg_);
    auto info_bytes = words.asBytes();
    FileHeader h = {};
    memcpy(h.magic, kMagic, 8);
    const Mark* position = position_ ? &*position_ : nullptr;
    bool positions = position && std::any_of(position->pieces.begin(), position->pieces.end(),
                                             [](const Piece& p) { return p.whole; });
    bool ticks = position && has_tick_piece(*position);
    // The oldest major that reads the file right (see kCheckpointMajor).
    h.major = uses_pkeys_ ? 7 : ticks ? 6 : base_ ? 5 : needs_4 ? 4 : positions ? 3 : 2;
    h.minor = uses_pkeys_ ? kCheckpointMinor
              : ticks     ? kCheckpointMinorOf6
              : base_     ? kCheckpointMinorOf5
              : needs_4   ? kCheckpointMinorOf4
              : positions ? kCheckpointMinorOf3
                          : kCheckpointMinorOf2;
    memcpy(h.uuid, source_.uuid.data(), 16);
    h.event = stats_.event;
    h.info_offset = blocks_->offset();
    h.info_size = info_bytes.size();
    h.info_checksum = XXH64(info_bytes.begin(), info_bytes.size(), 0);
    info_checksum = h.info_checksum;
    RR_TRY(write_all(fd_.get(), info_bytes.begin(), info_bytes.size(), tmp_));
    if (pwrite(fd_.get(), &h, sizeof(h), 0) != (ssize_t)sizeof(h)) return make_error("cannot write " + tmp_ + ": " + errno_text());
    stats_.file_bytes = h.info_offset + h.info_size;
    if (ftruncate(fd_.get(), stats_.file_bytes) != 0) return make_error("cannot truncate " + tmp_ + ": " + errno_text());
  } catch (const FatalError& e) {
    return make_error(std::string("cannot checkpoint event ") + std::to_string(stats_.event) + ": " + e.what());
  }
  auto before_sync = std::chrono::steady_clock::now();
  if (durable_ && fsync(fd_.get()) != 0) return make_error("cannot sync " + tmp_ + ": " + errno_text());
  if (durable_) posix_fadvise(fd_.get(), 0, 0, POSIX_FADV_DONTNEED);  // see PageBlockWriter::writeback
  RR_LOG("checkpoint %" PRIu64 ": capture+write %.3f s, fsync %.3f s", stats_.event,
         std::chrono::duration<double>(before_sync - started_).count(),
         std::chrono::duration<double>(std::chrono::steady_clock::now() - before_sync).count());
  blocks_.reset();
  fd_.reset();
  if (source_.copies_intact) RR_TRY(source_.copies_intact());
  // A usable checkpoint another writer put under the name meanwhile stays
  // (see write_checkpoint); anything else there is replaced.
  if (renameat2(AT_FDCWD, tmp_.c_str(), AT_FDCWD, stats_.path.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno != EEXIST && errno != EINVAL) return make_error("cannot rename " + tmp_ + ": " + errno_text());
    if (errno == EEXIST && !position_)
      if (auto kept = usable_at(stats_.path, source_.uuid, stats_.event)) return *kept;
    if (rename(tmp_.c_str(), stats_.path.c_str()) != 0) return make_error("cannot rename " + tmp_ + ": " + errno_text());
  }
  keep_tmp_ = true;
  if (tracker_) tracker_->set_since(stats_.path, info_checksum);
  if (durable_) {
    ScopedFd dfd(::open(folder_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dfd.is_open()) fsync(dfd.get());
  }
  stats_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  return stats_;
}

}  // namespace

Result<CheckpointStats> write_checkpoint_from(const CheckpointSource& source, Codec codec, const std::string& path,
                                              const Mark* position, bool durable, const CheckpointReader* base,
                                              WriteTracker* tracker) {
  CheckpointWriter w(source, codec, path, position, durable, base, tracker);
  RR_TRY(w.state(true));
  return w.close();
}

Result<CheckpointJob> start_checkpoint_from(std::shared_ptr<CheckpointSource> source, Codec codec,
                                            const std::string& path, const CheckpointReader* base,
                                            const std::function<Result<Task*>(Task& leader)>& copy_of) {
  auto w = std::make_shared<CheckpointWriter>(*source, codec, path, nullptr, true, base, nullptr);
  RR_TRY(w->state(false));
  auto copies = std::make_shared<std::vector<Task*>>();
  std::vector<std::pair<Task*, RecordedTid>> leaders = w->leaders();
  for (size_t k = 0; k < leaders.size(); ++k) {
    // A process whose threads all wait inside calls is read now, from
    // itself; one that ended meanwhile is told as such.
    if (source->asleep.count(leaders[k].second)) {
      Status read = w->pages_now(k);
      if (!read.ok() && source->asleep_intact) RR_TRY(source->asleep_intact());
      RR_TRY(std::move(read));
      copies->push_back(nullptr);
      continue;
    }
    RR_ASSIGN_OR_RETURN(Task* copy, copy_of(*leaders[k].first));
    copies->push_back(copy);
  }
  if (source->asleep_intact) RR_TRY(source->asleep_intact());
  // What reads the live processes is not for the job (its captures may not
  // outlive this call).
  source->file_in_trace = nullptr;
  source->exe_in_trace = nullptr;
  source->overlay = nullptr;
  source->calls_inside = nullptr;
  source->refuse_mapping = nullptr;
  source->interrupted = nullptr;
  source->asleep_intact = nullptr;
  return CheckpointJob([source, w, copies]() -> Result<CheckpointStats> {
    RR_TRY(w->pages(copies.get()));
    return w->close();
  });
}

namespace {

// Opens a checkpoint for reading without waiting: a FIFO or device left
// under a checkpoint's name must not block the command (fstat then shows
// what it is). Blocking mode is restored for the reads.
ScopedFd open_checkpoint_file(const std::string& path) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.is_open()) fcntl(fd.get(), F_SETFL, 0);
  return fd;
}

// Reads and checks the fixed header; `problem` says why it cannot be used.
bool read_header(int fd, uint64_t file_size, const std::string& uuid, FileHeader& h, std::string& problem) {
  if (file_size < sizeof(h) || pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
    problem = "truncated (no header)";
    return false;
  }
  if (memcmp(h.magic, kMagic, 8) != 0) {
    problem = "not a checkpoint (bad magic)";
    return false;
  }
  if (h.major > kCheckpointMajor) {
    problem = "format version " + std::to_string(h.major) + "." + std::to_string(h.minor) + " is newer than this rr reads (" +
              std::to_string(kCheckpointMajor) + ")";
    return false;
  }
  if (!uuid.empty() && memcmp(h.uuid, uuid.data(), 16) != 0) {
    problem = "belongs to another trace";
    return false;
  }
  // Compared without sums that could wrap: the sizes come from the file.
  if (h.info_offset < sizeof(h) || h.info_offset > file_size || h.info_size > file_size - h.info_offset ||
      h.info_size % 8 != 0 || h.info_size == 0) {
    problem = "truncated";
    return false;
  }
  return true;
}

}  // namespace

int remove_stale_temporaries(const std::string& trace_dir) {
  std::string dir = checkpoints_dir(trace_dir);
  DIR* d = opendir(dir.c_str());
  if (!d) return 0;
  int removed = 0;
  while (dirent* e = readdir(d)) {
    // .tmp-<event>-<writer pid>-<random>
    unsigned long long event = 0, rnd = 0;
    int pid = 0;
    if (sscanf(e->d_name, ".tmp-%llu-%d-%llu", &event, &pid, &rnd) != 3 || pid <= 0) continue;
    if (kill(pid, 0) == 0 || errno != ESRCH) continue;  // its writer may still be at work
    struct stat st;
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || time(nullptr) - st.st_mtime < 10) continue;
    if (unlinkat(dirfd(d), e->d_name, 0) == 0) ++removed;
  }
  closedir(d);
  return removed;
}

std::unique_ptr<CheckpointReader> find_base(const std::string& trace_dir, const std::string& uuid, uint64_t event) {
  std::vector<CheckpointEntry> list = list_checkpoints(trace_dir, uuid);
  for (auto it = list.rbegin(); it != list.rend(); ++it) {
    if (it->event >= event || !it->problem.empty()) continue;
    auto r = CheckpointReader::open(it->path, uuid);
    if (!r.ok() || r.value()->depth() >= kMaxIncrementalDepth) continue;
    bool hashed = true;
    for (const CheckpointReader* c = r.value().get(); c; c = c->base())
      for (auto b : c->info().getBlocks()) hashed = hashed && b.getPageHashes().size() == b.getRawSize() / kPageSize * 16;
    if (hashed) return std::move(r.value());
  }
  return nullptr;
}

std::vector<CheckpointEntry> list_checkpoints(const std::string& trace_dir, const std::string& uuid) {
  std::vector<CheckpointEntry> out;
  std::string dir = checkpoints_dir(trace_dir);
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    size_t dot = name.find(".rrcp");
    if (dot == std::string::npos || dot + 5 != name.size() || dot == 0) continue;
    if (name.find_first_not_of("0123456789") != dot) continue;
    CheckpointEntry c;
    c.event = strtoull(name.c_str(), nullptr, 10);
    c.path = dir + "/" + name;
    ScopedFd fd = open_checkpoint_file(c.path);
    struct stat st;
    if (!fd.is_open() || fstat(fd.get(), &st) != 0) {
      c.problem = "unreadable";
    } else if (!S_ISREG(st.st_mode)) {
      c.problem = "not a regular file";
    } else {
      c.bytes = st.st_size;
      FileHeader h;
      if (read_header(fd.get(), st.st_size, uuid, h, c.problem)) {
        c.major = h.major;
        c.minor = h.minor;
        if (h.event != c.event) c.problem = "file name says event " + std::to_string(c.event) + ", contents event " + std::to_string(h.event);
        c.created_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + st.st_mtim.tv_nsec;
      }
    }
    out.push_back(c);
  }
  closedir(d);
  std::sort(out.begin(), out.end(), [](const CheckpointEntry& a, const CheckpointEntry& b) { return a.event < b.event; });
  return out;
}

Result<std::unique_ptr<CheckpointReader>> CheckpointReader::open(const std::string& path, const std::string& uuid) {
  std::unique_ptr<CheckpointReader> r(new CheckpointReader());
  r->path_ = path;
  r->fd_ = open_checkpoint_file(path);
  if (!r->fd_.is_open()) return make_error("checkpoint " + path + ": " + errno_text());
  struct stat st;
  if (fstat(r->fd_.get(), &st) != 0) return make_error("checkpoint " + path + ": " + errno_text());
  if (!S_ISREG(st.st_mode)) return make_error(ErrorKind::CorruptCheckpoint, "checkpoint " + path + " is not a regular file");
  r->file_size_ = st.st_size;
  FileHeader h;
  std::string problem;
  if (!read_header(r->fd_.get(), r->file_size_, uuid, h, problem)) return make_error(ErrorKind::CorruptCheckpoint, "checkpoint " + path + " is " + problem);
  r->words_ = kj::heapArray<capnp::word>(h.info_size / 8);
  if (pread(r->fd_.get(), r->words_.begin(), h.info_size, h.info_offset) != (ssize_t)h.info_size)
    return make_error(ErrorKind::CorruptCheckpoint, "checkpoint " + path + " is truncated");
  if (XXH64(r->words_.begin(), h.info_size, 0) != h.info_checksum) return make_error(ErrorKind::CorruptCheckpoint, "checkpoint " + path + " is corrupt (info checksum)");
  r->info_checksum_ = h.info_checksum;
  try {
    r->message_ = std::make_unique<capnp::FlatArrayMessageReader>(r->words_.asPtr(), big_reader_options());
    r->info_ = r->message_->getRoot<ckpt::CheckpointInfo>();
    if (r->info_.getEvent() != h.event) return make_error(ErrorKind::CorruptCheckpoint, "checkpoint " + path + " is corrupt (event mismatch)");
    for (auto b : r->info_.getBlocks())
      if (b.getFileOffset() > r->file_size_ || b.getStoredSize() > r->file_size_ - b.getFileOffset()) return make_error(ErrorKind::CorruptCheckpoint, "checkpoint " + path + " is truncated");
    r->own_blocks_ = r->info_.getBlocks().size();
    RR_TRY(r->open_base(uuid));
  } catch (const kj::Exception& e) {
    return kj_error(e, ErrorKind::CorruptCheckpoint, "checkpoint " + path + " is corrupt: ");
  }
  return r;
}

Status CheckpointReader::open_base(const std::string& uuid) {
  auto ref = info_.getBase();
  if (ref.getEvent() == 0) return {};
  std::string base_path = path_.substr(0, path_.rfind('/') + 1) + std::to_string(ref.getEvent()) + ".rrcp";
  auto unusable = [&](const std::string& why) {
    return make_error(ErrorKind::CorruptCheckpoint, "checkpoint " + path_ + " is incremental and its base " + base_path + " " + why);
  };
  if (ref.getEvent() >= info_.getEvent()) return unusable("is not an earlier one");
  if (!path_exists(base_path)) return unusable("is missing");
  auto base = CheckpointReader::open(base_path, uuid);
  if (!base.ok()) return unusable("is unusable: " + base.error().message);
  if (base.value()->info_checksum() != ref.getInfoChecksum()) return unusable("is another checkpoint than the one it was written against");
  if (base.value()->depth() >= kMaxIncrementalDepth) return unusable("is too deep in a chain of incremental checkpoints");
  base_ = std::move(base.value());
  return {};
}

Status CheckpointReader::read_block(uint32_t index, std::vector<uint8_t>& out, std::vector<uint8_t>& stored_) const {
  if (index >= own_blocks_ && base_) return base_->read_block(index - own_blocks_, out, stored_);
  auto blocks = info_.getBlocks();
  if (index >= blocks.size()) return make_error(ErrorKind::CorruptCheckpoint, "checkpoint " + path_ + " is corrupt (bad block index)");
  auto b = blocks[index];
  if (b.getCodec() > (uint8_t)Codec::Zlib) return make_error(ErrorKind::CorruptCheckpoint, "checkpoint " + path_ + " is corrupt (unknown codec)");
  if ((Codec)b.getCodec() == Codec::None) {
    // Read straight into place: no decompressor, no copy.
    if (b.getStoredSize() != b.getRawSize())
      return make_error(ErrorKind::CorruptCheckpoint, "checkpoint " + path_ + " is corrupt (stored block size does not match its raw size)");
    out.resize(b.getRawSize());
    if (pread(fd_.get(), out.data(), out.size(), b.getFileOffset()) != (ssize_t)out.size())
      return make_error(ErrorKind::CorruptCheckpoint, "checkpoint " + path_ + " is truncated");
  } else {
    stored_.resize(b.getStoredSize());
    if (pread(fd_.get(), stored_.data(), stored_.size(), b.getFileOffset()) != (ssize_t)stored_.size())
      return make_error(ErrorKind::CorruptCheckpoint, "checkpoint " + path_ + " is truncated");
    Status st = decompress_block((Codec)b.getCodec(), stored_.data(), stored_.size(), b.getRawSize(), out);
    if (!st.ok()) return make_error(ErrorKind::CorruptCheckpoint, "checkpoint " + path_ + " is corrupt (" + st.error().message + ")");
  }
  if (!block_matches(b, out)) return make_error(ErrorKind::CorruptCheckpoint, "checkpoint " + path_ + " is corrupt (block checksum)");
  return {};
}

// A block's raw bytes are checked against its page hashes where it has
// them (since 4.1, 3.3, 2.5: an XXH3-128 per page, inside the info, which
// its own checksum covers), four times faster than the block's XXH64,
// which older files are checked against.
bool CheckpointReader::block_matches(ckpt::PageBlock::Reader b, const std::vector<uint8_t>& raw) {
  auto hashes = b.getPageHashes();
  if (raw.size() % kPageSize != 0 || hashes.size() != raw.size() / kPageSize * 16)
    return XXH64(raw.data(), raw.size(), 0) == b.getChecksum();
  for (size_t k = 0; k < raw.size() / kPageSize; ++k) {
    XXH128_hash_t h = XXH3_128bits(raw.data() + k * kPageSize, kPageSize);
    uint64_t want[2];
    memcpy(want, hashes.begin() + k * 16, 16);
    if (h.low64 != want[0] || h.high64 != want[1]) return false;
  }
  return true;
}

}  // namespace rr
