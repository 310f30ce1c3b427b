#include "trace/block_stream.h"

#include "util/threads.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <pthread.h>
#include <csignal>
#include <thread>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zlib.h>
#include <zstd.h>

#include "util/io.h"

namespace rr {

namespace {

constexpr char kFileMagic[8] = {'R', 'R', 'S', 'T', 'R', 'E', 'A', 'M'};
// 1: blocks without sequence numbers or an end mark (still read).
// 2: numbered blocks, checksums seeded with the number, an end mark.
constexpr uint32_t kFileVersion = 2;
constexpr uint32_t kBlockMagic = 0x4b4c4252;  // "RBLK"
constexpr size_t kFileHeaderSize = 16;
constexpr uint32_t kMaxBlockBytes = 256u << 20;
constexpr uint8_t kEndMark = 1;  // BlockHeader::flags: the stream's last block

// Version 1's block header.
struct BlockHeaderV1 {
  uint32_t magic;
  uint8_t codec;
  uint8_t pad[3];
  uint32_t stored_size;
  uint32_t raw_size;
  uint64_t checksum;
};
static_assert(sizeof(BlockHeaderV1) == 24);

struct BlockHeader {
  uint32_t magic;
  uint8_t codec;
  uint8_t flags;
  uint16_t pad;
  uint32_t stored_size;
  uint32_t raw_size;
  uint64_t seq;       // blocks before this one in the stream
  uint64_t checksum;  // XXH64 of the raw bytes, seeded with seq
};
static_assert(sizeof(BlockHeader) == 32);

// What the end mark's raw bytes hold.
struct EndMark {
  uint64_t blocks;   // data blocks in the stream
  uint64_t records;  // records in them
};

}  // namespace

Result<Codec> parse_codec(const std::string& name) {
  if (name == "zstd") return Codec::Zstd;
  if (name == "zlib") return Codec::Zlib;
  if (name == "none") return Codec::None;
  return make_error("unknown codec '" + name + "' (expected zstd, zlib or none)");
}

const char* codec_name(Codec codec) {
  switch (codec) {
    case Codec::None: return "none";
    case Codec::Zstd: return "zstd";
    case Codec::Zlib: return "zlib";
  }
  return "?";
}

template <typename Bytes>
Status compress_block(Codec codec, const uint8_t* raw, size_t len, Bytes& out) {
  switch (codec) {
    case Codec::None:
      out.resize(len);
      memcpy(out.data(), raw, len);
      return {};
    case Codec::Zstd: {
      // One context per thread, kept: creating one per block costs more than
      // compressing an incompressible megabyte.
      thread_local std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
      out.resize(ZSTD_compressBound(len));
      size_t n = ZSTD_compressCCtx(cctx.get(), out.data(), out.size(), raw, len, 1);
      if (ZSTD_isError(n)) return make_error(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
      out.resize(n);
      return {};
    }
    case Codec::Zlib: {
      uLongf n = compressBound(len);
      out.resize(n);
      if (compress2(out.data(), &n, raw, len, 1) != Z_OK) return make_error("zlib compression failed");
      out.resize(n);
      return {};
    }
  }
  return make_error(ErrorKind::Internal, "unknown codec");
}

template <typename Bytes>
Status decompress_block(Codec codec, const uint8_t* stored, size_t len, size_t raw_len, Bytes& out) {
  out.resize(raw_len);
  switch (codec) {
    case Codec::None:
      if (len != raw_len) return make_error(ErrorKind::Corrupt, "stored block size does not match its raw size");
      memcpy(out.data(), stored, len);
      return {};
    case Codec::Zstd: {
      thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
      size_t n = ZSTD_decompressDCtx(dctx.get(), out.data(), raw_len, stored, len);
      if (ZSTD_isError(n) || n != raw_len) return make_error(ErrorKind::Corrupt, "zstd block does not decompress");
      return {};
    }
    case Codec::Zlib: {
      uLongf n = raw_len;
      if (uncompress(out.data(), &n, stored, len) != Z_OK || n != raw_len)
        return make_error(ErrorKind::Corrupt, "zlib block does not decompress");
      return {};
    }
  }
  return make_error(ErrorKind::Corrupt, "block has an unknown codec");
}

template Status compress_block(Codec, const uint8_t*, size_t, std::vector<uint8_t>&);
template Status compress_block(Codec, const uint8_t*, size_t, ByteBuffer&);
template Status decompress_block(Codec, const uint8_t*, size_t, size_t, std::vector<uint8_t>&);
template Status decompress_block(Codec, const uint8_t*, size_t, size_t, ByteBuffer&);

struct BlockStreamWriter::State {
  std::string path;
  ScopedFd fd;
  Codec codec = Codec::Zstd;
  size_t block_bytes = 0;
  // The calling thread's: the records of the block being filled.
  ByteBuffer pending;
  size_t pending_records = 0;
  uint64_t blocks = 0;   // data blocks handed off
  uint64_t records = 0;  // records in them

  // The block writer's (the worker's while it runs, else the caller's).
  uint64_t file_offset = 0;  // where the next block goes
  ByteBuffer scratch;

  // A block on its way: compressed by any worker, written in order.
  struct Job {
    uint64_t seq;
    ByteBuffer raw;
    ByteBuffer stored;
    uint64_t checksum = 0;
    Codec stored_as = Codec::None;  // None: `raw` is written as it is
    bool taken = false;  // a worker compresses it
    bool done = false;   // compressed (or failed)
  };
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::unique_ptr<Job>> inflight;  // under mu, in block order
  bool writing = false;                       // under mu: a worker writes blocks
  size_t alive = 0;                           // under mu: blocks handed off and not yet written
  bool stop = false;                          // under mu
  std::optional<Error> failed;                // under mu: the first failure
  std::vector<ByteBuffer> spare;              // under mu: written blocks' buffers, for reuse
  std::vector<std::thread> workers;
  size_t max_inflight = 2;
  // Whether the last block compressed was not worth compressing: a hint
  // for the next (any value gives a sound stream).
  std::atomic<bool> last_incompressible{false};
  std::atomic<unsigned> sampled{0};  // blocks judged by a sample, or due to be
  uint64_t written_back = kFileHeaderSize;  // the block writer's: writeback started below here

  ~State() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
    }
    cv.notify_all();
    for (auto& w : workers) w.join();
  }

  // Writes the block of `raw`, stored as `c` says: `stored` (compress's
  // output), or `raw` itself where `c` is None.
  Status write_stored(uint64_t seq, Codec c, uint8_t flags, uint64_t checksum, const ByteBuffer& raw,
                      const ByteBuffer& stored) {
    const ByteBuffer& out = c == Codec::None ? raw : stored;
    BlockHeader h{};
    h.magic = kBlockMagic;
    h.codec = static_cast<uint8_t>(c);
    h.flags = flags;
    h.stored_size = static_cast<uint32_t>(out.size());
    h.raw_size = static_cast<uint32_t>(raw.size());
    h.seq = seq;
    h.checksum = checksum;
    RR_TRY(write_all(fd.get(), &h, sizeof(h), path));
    RR_TRY(write_all(fd.get(), out.data(), out.size(), path));
    file_offset += sizeof(h) + out.size();
    start_writeback();
    return {};
  }

  // Starts the disk writes of what was written since the last call, every
  // 8 MiB, so that finish's fsync waits for the last few megabytes only,
  // not for the whole stream (200 MB of records had cost 0.11 s of waiting
  // at the end of a recording). Errors are left to that fsync.
  void start_writeback() {
    constexpr uint64_t kStep = 8ull << 20;
    if (file_offset - written_back < kStep) return;
    sync_file_range(fd.get(), written_back, file_offset - written_back, SYNC_FILE_RANGE_WRITE);
    written_back = file_offset;
  }

  // Compresses `raw` into `stored` and says how it is to be stored: with
  // the stream's codec, or as it is (Codec::None: `raw` is written, and
  // `stored` holds nothing to write) where compressing saves too little
  // (records of random bytes: a replay then reads them straight into
  // place). After a block that did not compress (the last one a worker
  // finished), a block of 256 KiB or more is first tried on a 64 KiB
  // sample of its middle, a sixteenth of a full block; every 16th block so
  // judged is compressed whole, so that a stream whose blocks are random
  // only in the middle still gets compressed.
  Result<Codec> compress(const ByteBuffer& raw, ByteBuffer& stored) {
    if (codec == Codec::None) return Codec::None;
    constexpr size_t kSample = 64 << 10;
    if (last_incompressible.load(std::memory_order_relaxed) && raw.size() >= 4 * kSample &&
        sampled.fetch_add(1, std::memory_order_relaxed) % 16 != 15) {
      RR_TRY(compress_block(codec, raw.data() + (raw.size() - kSample) / 2, kSample, stored));
      if (!worth_compressing(stored.size(), kSample)) return Codec::None;
    }
    RR_TRY(compress_block(codec, raw.data(), raw.size(), stored));
    bool worth = worth_compressing(stored.size(), raw.size());
    last_incompressible.store(!worth, std::memory_order_relaxed);
    return worth ? codec : Codec::None;
  }

  // On the caller's thread, with no worker busy.
  Status write_block(uint64_t seq, uint8_t flags, const ByteBuffer& raw) {
    Codec c = Codec::None;
    if (!(flags & kEndMark)) {
      RR_ASSIGN_OR_RETURN(c, compress(raw, scratch));
    }
    return write_stored(seq, c, flags, XXH64(raw.data(), raw.size(), seq), raw, scratch);
  }

  Job* untaken() {
    for (auto& j : inflight)
      if (!j->taken) return j.get();
    return nullptr;
  }

  // A worker: compresses the first block no one has taken, then, unless
  // another worker is writing, writes the blocks that are ready in order.
  // After a failure the rest are dropped (the stream is cut short there,
  // as by a crash).
  void work() {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return stop || untaken(); });
      Job* job = untaken();
      if (!job) return;
      job->taken = true;
      bool skip = failed.has_value();
      lock.unlock();
      Status compressed;
      if (!skip) {
        Result<Codec> c = compress(job->raw, job->stored);
        if (c.ok())
          job->stored_as = c.value();
        else
          compressed = c.take_error();
        job->checksum = XXH64(job->raw.data(), job->raw.size(), job->seq);
      }
      lock.lock();
      job->done = true;
      if (!compressed.ok() && !failed) failed = compressed.error();
      if (!writing) {
        writing = true;
        while (!inflight.empty() && inflight.front()->done) {
          std::unique_ptr<Job> j = std::move(inflight.front());
          inflight.pop_front();
          bool write = !failed.has_value();
          lock.unlock();
          Status st = write ? write_stored(j->seq, j->stored_as, 0, j->checksum, j->raw, j->stored) : Status{};
          j->raw.clear();
          lock.lock();
          if (!st.ok() && !failed) failed = st.error();
          --alive;
          if (spare.size() < max_inflight) spare.push_back(std::move(j->raw));
          cv.notify_all();
        }
        writing = false;
      }
      cv.notify_all();
    }
  }

  Status take_failure() {
    if (failed) return *failed;
    return {};
  }

  // Starts the workers (one per CPU, at most four), with every signal
  // blocked: signals are the recorder's main thread's, whose waits they
  // interrupt. Where no thread can be had, blocks are written by the
  // caller's thread.
  void start_workers() {
    unsigned n = std::min(4u, std::max(1u, std::thread::hardware_concurrency()));
    for (unsigned i = 0; i < n; ++i) {
      std::thread t = thread_with_signals_blocked([this] { work(); });
      if (!t.joinable()) break;
      workers.push_back(std::move(t));
    }
    max_inflight = workers.size() + 1;
  }

  // Hands the pending records to the workers as block number `blocks`.
  Status hand_off() {
    if (pending_records == 0) return {};
    if (blocks == 0 && workers.empty()) start_workers();
    if (workers.empty()) {
      RR_TRY(write_block(blocks, 0, pending));
      pending.clear();
    } else {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return alive < max_inflight || failed; });
      RR_TRY(take_failure());
      ++alive;
      auto job = std::make_unique<Job>();
      job->seq = blocks;
      job->raw = std::move(pending);
      inflight.push_back(std::move(job));
      pending.clear();
      if (!spare.empty()) {
        pending = std::move(spare.back());
        spare.pop_back();
      }
      cv.notify_all();
    }
    ++blocks;
    records += pending_records;
    pending_records = 0;
    return {};
  }

  // Waits until the workers have written every block handed to them.
  Status drain() {
    std::unique_lock<std::mutex> lock(mu);
    // After a failure the rest are dropped, not written; a write under
    // way still ends first (file_offset is read next).
    cv.wait(lock, [&] { return (inflight.empty() || failed) && !writing; });
    return take_failure();
  }
};

BlockStreamWriter::BlockStreamWriter() : s_(std::make_unique<State>()) {}
BlockStreamWriter::BlockStreamWriter(BlockStreamWriter&&) noexcept = default;
BlockStreamWriter& BlockStreamWriter::operator=(BlockStreamWriter&&) noexcept = default;
BlockStreamWriter::~BlockStreamWriter() = default;

Result<BlockStreamWriter> BlockStreamWriter::create(const std::string& path, Codec codec,
                                                    size_t block_bytes) {
  BlockStreamWriter w;
  State& s = *w.s_;
  s.path = path;
  s.fd = ScopedFd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!s.fd.is_open()) return make_error("cannot create " + path + ": " + strerror(errno));
  s.codec = codec;
  s.block_bytes = block_bytes;
  uint8_t header[kFileHeaderSize] = {};
  memcpy(header, kFileMagic, 8);
  memcpy(header + 8, &kFileVersion, 4);
  RR_TRY(write_all(s.fd.get(), header, sizeof(header), path));
  s.file_offset = kFileHeaderSize;
  return w;
}

Status BlockStreamWriter::append(const void* data, size_t len) {
  return append_filled(len, [&](uint8_t* out) { memcpy(out, data, len); });
}

Status BlockStreamWriter::append_filled(size_t len, const std::function<void(uint8_t*)>& fill) {
  State& s = *s_;
  uint32_t n = static_cast<uint32_t>(len);
  size_t at = s.pending.size();
  s.pending.resize(at + 4 + len);
  memcpy(s.pending.data() + at, &n, 4);
  fill(s.pending.data() + at + 4);
  ++s.pending_records;
  if (s.pending.size() >= s.block_bytes) return s.hand_off();
  return {};
}

Status BlockStreamWriter::flush() {
  RR_TRY(s_->hand_off());
  return s_->drain();
}

StreamPos BlockStreamWriter::position() {
  Status ignored = s_->drain();  // a failure comes back from the next flush
  (void)ignored;
  return {s_->file_offset, static_cast<uint32_t>(s_->pending_records)};
}

Status BlockStreamWriter::finish() {
  State& s = *s_;
  RR_TRY(flush());
  EndMark end{s.blocks, s.records};
  ByteBuffer raw(sizeof(end));
  memcpy(raw.data(), &end, sizeof(end));
  RR_TRY(s.write_block(s.blocks, kEndMark, raw));
  if (fsync(s.fd.get()) != 0) return make_error("cannot sync " + s.path + ": " + strerror(errno));
  s.fd.reset();
  return {};
}

Result<BlockStreamReader> BlockStreamReader::open(const std::string& path) {
  BlockStreamReader r;
  r.path_ = path;
  r.fd_ = ScopedFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!r.fd_.is_open()) return make_error("cannot open " + path + ": " + strerror(errno));
  struct stat st;
  if (fstat(r.fd_.get(), &st) != 0) return make_error("cannot stat " + path);
  r.file_size_ = st.st_size;
  uint8_t header[kFileHeaderSize];
  if (r.file_size_ < kFileHeaderSize || pread(r.fd_.get(), header, sizeof(header), 0) != (ssize_t)sizeof(header))
    return make_error(ErrorKind::Corrupt, path + " is truncated (no stream header)");
  if (memcmp(header, kFileMagic, 8) != 0) return make_error(ErrorKind::Corrupt, path + " is not a trace stream (bad magic)");
  uint32_t version;
  memcpy(&version, header + 8, 4);
  if (version > kFileVersion)
    return make_error(ErrorKind::Corrupt, path + " has stream version " + std::to_string(version) + ", newer than this rr reads (" +
                      std::to_string(kFileVersion) + ")");
  r.version_ = version;
  r.next_seq_ = 0;
  r.records_counted_ = 0;
  r.next_block_ = kFileHeaderSize;
  r.block_offset_ = kFileHeaderSize;
  return r;
}

Status BlockStreamReader::read_block_header(uint64_t offset, BlockInfo& b) {
  size_t header_size = version_ >= 2 ? sizeof(BlockHeader) : sizeof(BlockHeaderV1);
  if (offset > file_size_ || header_size > file_size_ - offset)
    return make_error(ErrorKind::Corrupt, path_ + " is truncated (partial block header)");
  BlockHeader h{};
  if (version_ >= 2) {
    if (pread(fd_.get(), &h, sizeof(h), offset) != (ssize_t)sizeof(h)) return make_error("cannot read " + path_ + ": " + strerror(errno));
  } else {
    BlockHeaderV1 v1;
    if (pread(fd_.get(), &v1, sizeof(v1), offset) != (ssize_t)sizeof(v1)) return make_error("cannot read " + path_ + ": " + strerror(errno));
    h = BlockHeader{v1.magic, v1.codec, 0, 0, v1.stored_size, v1.raw_size, 0, v1.checksum};
  }
  std::string at = " at offset " + std::to_string(offset);
  if (h.magic != kBlockMagic) return make_error(ErrorKind::Corrupt, path_ + " is corrupt (bad block magic" + at + ")");
  if (h.raw_size > kMaxBlockBytes || h.stored_size > kMaxBlockBytes)
    return make_error(ErrorKind::Corrupt, path_ + " is corrupt (impossible block size" + at + ")");
  if (h.stored_size > file_size_ - offset - header_size) return make_error(ErrorKind::Corrupt, path_ + " is truncated (partial block)");
  if (h.codec > static_cast<uint8_t>(Codec::Zlib)) return make_error(ErrorKind::Corrupt, path_ + " is corrupt (unknown codec)");
  b = BlockInfo{h.codec, h.flags, h.stored_size, h.raw_size, h.seq, h.checksum, header_size};
  return {};
}

namespace {

// Counts the forks of this process's children: a child's count is one more
// than its parent's was, whatever its pid (a child made in a PID namespace
// may have its parent's pid number).
std::atomic<uint64_t> fork_generation{0};
void count_fork_in_child() { fork_generation.fetch_add(1, std::memory_order_relaxed); }

uint64_t this_fork_generation() {
  static std::once_flag registered;
  std::call_once(registered, [] { pthread_atfork(nullptr, nullptr, count_fork_in_child); });
  return fork_generation.load(std::memory_order_relaxed);
}

}  // namespace

// Reading ahead: while replay reads the records of one block in order, a
// worker thread reads, decompresses and checks the next (decompression was
// half of the replay of `grep -r` over /usr/include). Only reading on in
// order asks for it, not a seek (gdb's reverse execution seeks often), and
// not a stream still being written (follow()). The main thread reads and
// checks the next block's header and hands it over; the worker reads the
// rest as the main thread does (read_block_data), with every signal
// blocked, from its own descriptor of the file with pread, into its own
// buffers; an exception in it (no memory) is a block not read ahead. The
// main thread takes a block from it only when the worker read the block it
// wants, with the same header and a sound checksum; anything else (a seek
// elsewhere, a damaged block) is read as before, which names the damage.
struct BlockStreamReader::Ahead {
  std::mutex mu;
  std::condition_variable cv;
  std::thread worker;
  // The process the thread is of, by its fork generation and its pid: a
  // fork's child has a copy of this object, not the thread (the pid alone
  // may be the same number in a PID namespace; the generation alone misses
  // a child made by the clone syscall itself, which runs no fork handler).
  uint64_t generation = this_fork_generation();
  pid_t owner = getpid();
  bool ours() const { return generation == this_fork_generation() && owner == getpid(); }
  bool stop = false;
  bool busy = false;  // a job is asked for and not done
  ScopedFd fd;        // the worker's own descriptor of the file
  // The job: the block at `offset`, whose header is `info`.
  uint64_t offset = 0;
  BlockInfo info{};
  // Its result, once !busy: `ok` when it read and checked.
  bool ok = false;
  ByteBuffer stored, raw;

  void run() {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return stop || busy; });
      if (stop) return;
      lock.unlock();
      bool good = false;
      try {
        good = read_block_data(fd.get(), std::string(), offset, info, stored, raw).ok();
      } catch (...) {
      }
      lock.lock();
      ok = good;
      busy = false;
      cv.notify_all();
    }
  }
};

void BlockStreamReader::AheadDeleter::operator()(Ahead* a) const {
  // In a fork's child the thread is the parent's: the copy is left as it
  // is (the child execs or exits).
  if (!a->ours()) return;
  if (a->worker.joinable()) {
    {
      std::lock_guard<std::mutex> lock(a->mu);
      a->stop = true;
    }
    a->cv.notify_all();
    a->worker.join();
  }
  delete a;
}

bool BlockStreamReader::take_ahead(uint64_t offset, const BlockInfo& h) {
  if (!ahead_ || !ahead_->ours()) return false;
  std::unique_lock<std::mutex> lock(ahead_->mu);
  if (ahead_->offset != offset) return false;
  ahead_->cv.wait(lock, [&] { return !ahead_->busy; });
  const BlockInfo& got = ahead_->info;
  bool same = ahead_->ok && got.codec == h.codec && got.flags == h.flags && got.stored_size == h.stored_size &&
              got.raw_size == h.raw_size && got.seq == h.seq && got.checksum == h.checksum &&
              got.header_size == h.header_size;
  ahead_->ok = false;
  ahead_->offset = UINT64_MAX;
  if (!same) return false;
  raw_.swap(ahead_->raw);
  return true;
}

void BlockStreamReader::read_ahead() {
  if (version_ < 2 || wait_for_more_ || end_seen_ || next_block_ >= file_size_ || no_ahead_) return;
  if (!ahead_) {
    std::unique_ptr<Ahead, AheadDeleter> a(new Ahead);
    a->fd = ScopedFd(fcntl(fd_.get(), F_DUPFD_CLOEXEC, 0));
    if (a->fd.is_open()) a->worker = thread_with_signals_blocked([p = a.get()] { p->run(); });
    if (!a->worker.joinable()) {  // no descriptor or thread to be had: read as before, from now on
      no_ahead_ = true;
      return;
    }
    ahead_ = std::move(a);
  }
  if (!ahead_->ours()) return;
  // A header that does not check is left for load_block to name.
  BlockInfo next;
  if (!read_block_header(next_block_, next).ok()) return;
  std::lock_guard<std::mutex> lock(ahead_->mu);
  if (ahead_->busy) return;  // still reading one a seek left behind
  ahead_->offset = next_block_;
  ahead_->info = next;
  ahead_->ok = false;
  ahead_->busy = true;
  ahead_->cv.notify_all();
}

Status BlockStreamReader::read_block_data(int fd, const std::string& path, uint64_t offset, const BlockInfo& h,
                                          ByteBuffer& stored, ByteBuffer& raw) {
  auto corrupt = [&](const std::string& what) {
    return make_error(ErrorKind::Corrupt, path + " is corrupt (" + what + " at offset " + std::to_string(offset) + ")");
  };
  if (static_cast<Codec>(h.codec) == Codec::None) {
    // Kept as they are (incompressible records): read straight into place.
    if (h.stored_size != h.raw_size) return corrupt("stored block size does not match its raw size");
    raw.resize(h.raw_size);
    if (pread(fd, raw.data(), h.raw_size, offset + h.header_size) != (ssize_t)h.raw_size)
      return make_error("cannot read " + path + ": " + strerror(errno));
  } else {
    stored.resize(h.stored_size);
    if (pread(fd, stored.data(), h.stored_size, offset + h.header_size) != (ssize_t)h.stored_size)
      return make_error("cannot read " + path + ": " + strerror(errno));
    Status st = decompress_block(static_cast<Codec>(h.codec), stored.data(), stored.size(), h.raw_size, raw);
    if (!st.ok()) return corrupt(st.error().message);
  }
  if (XXH64(raw.data(), raw.size(), h.seq) != h.checksum) return corrupt("block checksum mismatch");
  return {};
}

bool BlockStreamReader::partial_at(uint64_t offset) {
  size_t header_size = version_ >= 2 ? sizeof(BlockHeader) : sizeof(BlockHeaderV1);
  if (header_size > file_size_ - offset) return true;
  uint64_t stored = 0;
  if (version_ >= 2) {
    BlockHeader h;
    if (pread(fd_.get(), &h, sizeof(h), offset) != (ssize_t)sizeof(h)) return false;  // read_block_header says why
    stored = h.stored_size;
  } else {
    BlockHeaderV1 v1;
    if (pread(fd_.get(), &v1, sizeof(v1), offset) != (ssize_t)sizeof(v1)) return false;
    stored = v1.stored_size;
  }
  return stored > file_size_ - offset - header_size;
}

Status BlockStreamReader::load_block(uint64_t offset) {
  BlockInfo h;
  RR_TRY(read_block_header(offset, h));
  std::string at = " at offset " + std::to_string(offset);
  // In a numbered stream every block must be the one that follows the last:
  // a dropped, repeated or moved block is found here.
  if (version_ >= 2 && next_seq_ && h.seq != *next_seq_)
    return make_error(ErrorKind::Corrupt, path_ + " is corrupt (block " + std::to_string(h.seq) + " where block " +
                      std::to_string(*next_seq_) + " belongs" + at + ": blocks missing, repeated or out of order)");
  if (!take_ahead(offset, h)) {
    Status read = read_block_data(fd_.get(), path_, offset, h, stored_, raw_);
    if (!read.ok()) {
      // raw_ holds the failed block's unchecked bytes now: a next() after
      // this error loads that block again (and fails again), instead of
      // reading on from the last position in those bytes.
      raw_.clear();
      cursor_ = 0;
      return read;
    }
  }
  block_offset_ = offset;
  next_block_ = offset + h.header_size + h.stored_size;
  record_index_ = 0;
  cursor_ = 0;
  loaded_ = true;
  next_seq_ = h.seq + 1;
  if (h.flags & kEndMark) RR_TRY(check_end_mark(h.seq, at));
  return {};
}

Status BlockStreamReader::check_end_mark(uint64_t seq, const std::string& at) {
  EndMark end;
  if (raw_.size() != sizeof(end)) return make_error(ErrorKind::Corrupt, path_ + " is corrupt (bad end mark" + at + ")");
  memcpy(&end, raw_.data(), sizeof(end));
  if (end.blocks != seq || (records_counted_ && end.records != *records_counted_))
    return make_error(ErrorKind::Corrupt, path_ + " is corrupt (the end mark counts " + std::to_string(end.blocks) + " blocks and " +
                      std::to_string(end.records) + " records, the stream holds others)");
  if (next_block_ != file_size_) return make_error(ErrorKind::Corrupt, path_ + " is corrupt (data after the end mark)");
  raw_.clear();  // no records in it
  end_seen_ = true;
  return {};
}

Result<bool> BlockStreamReader::next(std::vector<uint8_t>& out) {
  while (!loaded_ || cursor_ >= raw_.size()) {
    uint64_t at = loaded_ ? next_block_ : block_offset_;
    // Following a stream, a block the writer has begun but not finished
    // (its header and its bytes are two writes) is waited for as the end.
    if (!end_seen_ && wait_for_more_ && (at >= file_size_ || partial_at(at))) {
      bool writer_alive = wait_for_more_();
      if (!writer_alive) wait_for_more_ = nullptr;
      struct stat st;
      if (fstat(fd_.get(), &st) != 0) return make_error("cannot stat " + path_ + ": " + strerror(errno));
      file_size_ = st.st_size;
      continue;
    }
    if (at >= file_size_ || end_seen_) {
      // Leave the position at the end so that position() names it.
      if (loaded_) {
        block_offset_ = end_seen_ ? block_offset_ : next_block_;
        record_index_ = 0;
        loaded_ = false;
        raw_.clear();
        cursor_ = 0;
      }
      return false;
    }
    RR_TRY(load_block(at));
    read_ahead();
  }
  uint32_t len;
  if (cursor_ + 4 > raw_.size()) return make_error(ErrorKind::Corrupt, path_ + " is corrupt (record header past block end)");
  memcpy(&len, raw_.data() + cursor_, 4);
  if (len > raw_.size() - cursor_ - 4) return make_error(ErrorKind::Corrupt, path_ + " is corrupt (record past block end)");
  out.assign(raw_.data() + cursor_ + 4, raw_.data() + cursor_ + 4 + len);
  cursor_ += 4 + len;
  ++record_index_;
  if (records_counted_) ++*records_counted_;
  return true;
}

bool BlockStreamReader::ends_with_mark() {
  if (version_ < 2) return true;
  struct {
    BlockHeader h;
    EndMark end;
  } tail;
  static_assert(sizeof(tail) == sizeof(BlockHeader) + sizeof(EndMark));
  if (file_size_ < kFileHeaderSize + sizeof(tail) || pread(fd_.get(), &tail, sizeof(tail), file_size_ - sizeof(tail)) != (ssize_t)sizeof(tail))
    return false;
  const BlockHeader& h = tail.h;
  return h.magic == kBlockMagic && (h.flags & kEndMark) && h.codec == static_cast<uint8_t>(Codec::None) &&
         h.raw_size == sizeof(EndMark) && h.stored_size == sizeof(EndMark) && h.seq == tail.end.blocks &&
         XXH64(&tail.end, sizeof(EndMark), h.seq) == h.checksum;
}

Status BlockStreamReader::seek(StreamPos pos) {
  if (pos.block_offset >= file_size_) {
    if (pos.record_index != 0 || pos.block_offset != file_size_)
      return make_error(path_ + ": position past the end of the stream");
    loaded_ = false;
    block_offset_ = pos.block_offset;
    record_index_ = 0;
    return {};
  }
  // Blocks are counted again from the one sought to.
  next_seq_.reset();
  records_counted_.reset();
  end_seen_ = false;
  RR_TRY(load_block(pos.block_offset));
  std::vector<uint8_t> skip;
  for (uint32_t i = 0; i < pos.record_index; ++i) {
    if (cursor_ >= raw_.size()) return make_error(path_ + ": position past the end of its block");
    RR_ASSIGN_OR_RETURN(bool more, next(skip));
    if (!more) return make_error(path_ + ": position past the end of the stream");
  }
  return {};
}

Result<std::optional<StreamPos>> BlockStreamReader::record_before(StreamPos pos) {
  if (pos.record_index > 0) return std::optional<StreamPos>(StreamPos{pos.block_offset, pos.record_index - 1});
  uint64_t offset = kFileHeaderSize;
  std::optional<uint64_t> previous;
  while (offset < pos.block_offset) {
    BlockInfo b;
    RR_TRY(read_block_header(offset, b));
    uint64_t next_block = offset + b.header_size + b.stored_size;
    if (next_block == pos.block_offset) previous = offset;
    offset = next_block;
  }
  if (offset != pos.block_offset) return make_error(ErrorKind::Corrupt, path_ + ": no block starts at offset " + std::to_string(pos.block_offset));
  if (!previous) return std::optional<StreamPos>();
  // The records of the previous block: the last one is wanted.
  RR_TRY(seek(StreamPos{*previous, 0}));
  std::vector<uint8_t> record;
  uint32_t count = 0;
  for (;;) {
    RR_ASSIGN_OR_RETURN(bool more, next(record));
    if (!more || block_offset_ != *previous) break;
    ++count;
  }
  if (count == 0) return make_error(ErrorKind::Corrupt, path_ + ": an empty block at offset " + std::to_string(*previous));
  return std::optional<StreamPos>(StreamPos{*previous, count - 1});
}

}  // namespace rr
