#include "trace/block_stream.h"

#include <gtest/gtest.h>
#include "scratch_dir.h"
#include <fcntl.h>
#include <sys/resource.h>
#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace rr {
namespace {

std::string temp_path(const char* name) { return scratch_dir_until_exit("rr-unit") + "/" + name; }

std::string record_text(int i) { return "record-" + std::to_string(i) + std::string(i % 97, 'x'); }

void write_records(const std::string& path, Codec codec, int n, std::vector<StreamPos>* positions = nullptr) {
  auto w = BlockStreamWriter::create(path, codec, 4096);
  ASSERT_TRUE(w.ok()) << w.error().message;
  for (int i = 0; i < n; ++i) {
    if (positions) positions->push_back(w->position());
    std::string s = record_text(i);
    ASSERT_TRUE(w->append(s.data(), s.size()).ok());
  }
  ASSERT_TRUE(w->finish().ok());
}

// After a seek to the position of record `from`, the next `count` records
// are write_records' from `from` on.
void expect_records_after_seek(BlockStreamReader& r, const std::vector<StreamPos>& positions, int from, int count) {
  ASSERT_TRUE(r.seek(positions[from]).ok()) << from;
  std::vector<uint8_t> buf;
  for (int k = from; k < from + count; ++k) {
    auto more = r.next(buf);
    ASSERT_TRUE(more.ok() && more.value()) << k;
    ASSERT_EQ(std::string(buf.begin(), buf.end()), record_text(k));
  }
}

class BlockStreamCodecs : public ::testing::TestWithParam<Codec> {};

TEST_P(BlockStreamCodecs, RoundTripsEveryRecord) {
  std::string path = temp_path("s");
  write_records(path, GetParam(), 500);
  auto r = BlockStreamReader::open(path);
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::vector<uint8_t> buf;
  for (int i = 0; i < 500; ++i) {
    auto more = r->next(buf);
    ASSERT_TRUE(more.ok()) << more.error().message;
    ASSERT_TRUE(more.value()) << "stream ended early at record " << i;
    EXPECT_EQ(std::string(buf.begin(), buf.end()), record_text(i));
  }
  auto end = r->next(buf);
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end.value());
}

INSTANTIATE_TEST_SUITE_P(All, BlockStreamCodecs, ::testing::Values(Codec::Zstd, Codec::Zlib, Codec::None));

TEST(BlockStream, SeekReturnsTheRecordAtAPosition) {
  std::string path = temp_path("s");
  std::vector<StreamPos> positions;
  write_records(path, Codec::Zstd, 300, &positions);
  auto r = BlockStreamReader::open(path);
  ASSERT_TRUE(r.ok());
  for (int i : {250, 3, 0, 299, 128}) expect_records_after_seek(*r, positions, i, 1);
}

TEST(BlockStream, ReaderPositionMatchesWriterPosition) {
  std::string path = temp_path("s");
  std::vector<StreamPos> positions;
  write_records(path, Codec::Zstd, 200, &positions);
  auto r = BlockStreamReader::open(path);
  std::vector<uint8_t> buf;
  for (int i = 0; i < 200; ++i) {
    // Writer positions name the pending block by its future offset; the
    // reader names a record by (block, index). Check the reader resumes
    // from its own positions.
    StreamPos p = r->position();
    ASSERT_TRUE(r->next(buf).value());
    auto r2 = BlockStreamReader::open(path);
    ASSERT_TRUE(r2->seek(p).ok());
    std::vector<uint8_t> again;
    ASSERT_TRUE(r2->next(again).value());
    EXPECT_EQ(buf, again) << "record " << i;
  }
}

// A restore reads its event's frame again from the position after it,
// which may be the start of a block (the record before is then the last of
// the previous block) or the end of the stream.
TEST(BlockStream, RecordBeforeAnyPositionIsTheOneReadBeforeIt) {
  std::string path = temp_path("s");
  std::vector<StreamPos> positions;
  write_records(path, Codec::Zstd, 300, &positions);
  std::vector<StreamPos> after;  // the reader's position after each record
  {
    auto r = BlockStreamReader::open(path);
    std::vector<uint8_t> buf;
    for (int i = 0; i < 300; ++i) {
      ASSERT_TRUE(r->next(buf).value());
      after.push_back(r->position());
    }
  }
  auto r = BlockStreamReader::open(path);
  ASSERT_TRUE(r.ok());
  std::vector<uint8_t> buf;
  int block_starts = 0;
  for (int i = 0; i < 300; ++i) {
    // Both names of the point after record i: the reader's, and where the
    // writer put record i + 1 (the start of a block when i ended one).
    std::vector<StreamPos> names = {after[i]};
    if (i + 1 < 300) names.push_back(positions[i + 1]);
    for (StreamPos p : names) {
      block_starts += p.record_index == 0;
      auto before = r->record_before(p);
      ASSERT_TRUE(before.ok()) << before.error().message;
      ASSERT_TRUE(before.value().has_value()) << "record " << i;
      ASSERT_TRUE(r->seek(*before.value()).ok());
      ASSERT_TRUE(r->next(buf).value());
      EXPECT_EQ(std::string(buf.begin(), buf.end()), record_text(i));
    }
  }
  EXPECT_GT(block_starts, 2) << "the stream should have several blocks";
  auto first = r->record_before(positions[0]);
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first.value().has_value());
  // An offset where no block starts is corrupt, not a crash.
  auto bad = r->record_before(StreamPos{positions[0].block_offset + 5, 0});
  EXPECT_FALSE(bad.ok());
}

TEST(BlockStream, TruncatedStreamIsReportedNotCrashed) {
  std::string path = temp_path("s");
  write_records(path, Codec::Zstd, 2000);
  off_t size = lseek(::open(path.c_str(), O_RDONLY), 0, SEEK_END);
  ASSERT_EQ(truncate(path.c_str(), size - 10), 0);
  auto r = BlockStreamReader::open(path);
  ASSERT_TRUE(r.ok());
  std::vector<uint8_t> buf;
  std::string error;
  ErrorKind kind = ErrorKind::Failure;
  for (;;) {
    auto more = r->next(buf);
    if (!more.ok()) {
      error = more.error().message;
      kind = more.error().kind;
      break;
    }
    ASSERT_TRUE(more.value()) << "a truncated stream must not end cleanly";
  }
  EXPECT_NE(error.find("truncated"), std::string::npos) << error;
  EXPECT_EQ(kind, ErrorKind::Corrupt) << "a truncated stream is a damaged trace file, not a failure of rr";
}

TEST(BlockStream, CorruptBlockFailsItsChecksum) {
  std::string path = temp_path("s");
  write_records(path, Codec::None, 100);
  int fd = ::open(path.c_str(), O_RDWR);
  char c = 'Z';
  ASSERT_EQ(pwrite(fd, &c, 1, 16 + 24 + 10), 1);  // inside the first block's data
  close(fd);
  auto r = BlockStreamReader::open(path);
  std::vector<uint8_t> buf;
  auto more = r->next(buf);
  ASSERT_FALSE(more.ok());
  EXPECT_NE(more.error().message.find("corrupt"), std::string::npos) << more.error().message;
  EXPECT_EQ(more.error().kind, ErrorKind::Corrupt);
}

TEST(BlockStream, NotAStreamIsRejected) {
  std::string path = temp_path("s");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_EQ(write(fd, "hello world, not a stream", 25), 25);
  close(fd);
  auto r = BlockStreamReader::open(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not a trace stream"), std::string::npos);
  EXPECT_EQ(r.error().kind, ErrorKind::Corrupt);
}

TEST(BlockStream, AMissingStreamIsNotCorrupt) {
  // Only damaged files are passed over for others; a file that cannot be
  // opened at all is a plain failure.
  auto r = BlockStreamReader::open(temp_path("absent"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Failure) << r.error().message;
}

// The stream's blocks as byte strings (header and stored bytes), after the
// 16-byte file header.
std::vector<std::string> split_blocks(const std::string& file) {
  std::vector<std::string> out;
  size_t at = 16;
  while (at + 32 <= file.size()) {
    uint32_t stored;
    memcpy(&stored, file.data() + at + 8, 4);
    out.push_back(file.substr(at, 32 + stored));
    at += 32 + stored;
  }
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void spit(const std::string& path, const std::string& data) { std::ofstream(path, std::ios::binary | std::ios::trunc) << data; }

// `n` pseudo-random bytes (xorshift), from and advancing `state`.
std::string random_bytes(size_t n, uint64_t& state) {
  std::string s(n, 0);
  for (auto& c : s) state ^= state << 13, state ^= state >> 7, state ^= state << 17, c = static_cast<char>(state);
  return s;
}

// `n` bytes of a repeated phrase, starting `shift` characters into it.
std::string text_bytes(size_t n, size_t shift = 0) {
  std::string s(n, 0);
  for (size_t k = 0; k < n; ++k) s[k] = "the quick brown fox "[(k + shift) % 20];
  return s;
}

// Writes `records` to a new stream at `path` with blocks of `block_bytes`.
void write_stream(const std::string& path, Codec codec, size_t block_bytes, const std::vector<std::string>& records) {
  auto w = BlockStreamWriter::create(path, codec, block_bytes);
  ASSERT_TRUE(w.ok());
  for (auto& s : records) ASSERT_TRUE(w->append(s.data(), s.size()).ok());
  ASSERT_TRUE(w->finish().ok());
}

// The codec byte of a block as split_blocks cuts it.
uint8_t codec_of(const std::string& block) { return static_cast<uint8_t>(block[4]); }

// Reads the whole stream: the error, or "" when it ends cleanly (then
// `finished` says whether with its end mark).
std::string read_all(const std::string& path, bool* finished = nullptr, int* records = nullptr) {
  auto r = BlockStreamReader::open(path);
  if (!r.ok()) return r.error().message;
  std::vector<uint8_t> buf;
  int n = 0;
  for (;;) {
    auto more = r->next(buf);
    if (!more.ok()) return more.error().message;
    if (!more.value()) break;
    ++n;
  }
  if (finished) *finished = r->finished();
  if (records) *records = n;
  return "";
}

TEST(BlockStream, AFinishedStreamEndsWithItsMark) {
  std::string path = temp_path("s");
  write_records(path, Codec::Zstd, 2000);
  bool finished = false;
  int n = 0;
  EXPECT_EQ(read_all(path, &finished, &n), "");
  EXPECT_TRUE(finished);
  EXPECT_EQ(n, 2000);
}

TEST(BlockStream, AnUnfinishedStreamIsToldApart) {
  std::string path = temp_path("s");
  {
    auto w = BlockStreamWriter::create(path, Codec::Zstd, 4096);
    for (int i = 0; i < 500; ++i) {
      std::string s = record_text(i);
      ASSERT_TRUE(w->append(s.data(), s.size()).ok());
    }
    ASSERT_TRUE(w->flush().ok());  // as a writer killed after a flush leaves it
  }
  bool finished = true;
  int n = 0;
  EXPECT_EQ(read_all(path, &finished, &n), "");
  EXPECT_FALSE(finished);
  EXPECT_EQ(n, 500);
}

// Blocks are compressed by several workers at once; whichever finishes
// first, the file holds them in order. Records of mixed sizes and contents
// (random bytes compress slowly, runs of one byte fast) over many blocks.
TEST(BlockStream, BlocksFromTheWorkersComeOutInOrder) {
  std::string path = temp_path("s");
  std::vector<std::string> records;
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 3000; ++i) {
    std::string s = record_text(i);
    size_t extra = (i * 7919) % 6000;
    for (size_t k = 0; k < extra; ++k) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      s.push_back(i % 3 == 0 ? static_cast<char>(x) : 'y');
    }
    records.push_back(s);
  }
  write_stream(path, Codec::Zstd, 8192, records);
  auto r = BlockStreamReader::open(path);
  ASSERT_TRUE(r.ok());
  std::vector<uint8_t> rec;
  size_t n = 0;
  for (;; ++n) {
    auto got = r->next(rec);
    ASSERT_TRUE(got.ok()) << got.error().message;
    if (!got.value()) break;
    ASSERT_LT(n, records.size());
    ASSERT_EQ(std::string(rec.begin(), rec.end()), records[n]) << "record " << n;
  }
  EXPECT_EQ(n, records.size());
  EXPECT_TRUE(r->finished());
}

// Blocks of random bytes gain nothing from compression and are stored as
// they are; blocks of text after them are compressed again (after a block
// that did not compress, the next is first tried on a sample of it). Both
// kinds read back as written, and a kept block whose stored size no longer
// matches its raw size is corrupt, not read past.
TEST(BlockStream, RandomBlocksAreKeptAsTheyAreAndTextAfterThemCompressed) {
  std::string path = temp_path("s");
  // 32 records of 32 KiB with their lengths fill a 1 MiB block exactly.
  constexpr size_t kRecord = (32 << 10) - 4;
  std::vector<std::string> records;
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 32 * 6; ++i) records.push_back(i < 32 * 3 ? random_bytes(kRecord, x) : text_bytes(kRecord, i));
  write_stream(path, Codec::Zstd, 1 << 20, records);
  std::string file = slurp(path);
  std::vector<std::string> blocks = split_blocks(file);
  ASSERT_EQ(blocks.size(), 7u);  // six of data, the end mark
  for (size_t b = 0; b < 6; ++b) {
    uint8_t codec = codec_of(blocks[b]);
    uint32_t stored, raw;
    memcpy(&stored, blocks[b].data() + 8, 4);
    memcpy(&raw, blocks[b].data() + 12, 4);
    EXPECT_EQ(raw, 1u << 20) << "block " << b;
    if (b < 3) {
      EXPECT_EQ(codec, static_cast<uint8_t>(Codec::None)) << "block " << b;
      EXPECT_EQ(stored, raw) << "block " << b;
    } else {
      EXPECT_EQ(codec, static_cast<uint8_t>(Codec::Zstd)) << "block " << b;
      EXPECT_LT(stored, raw / 10) << "block " << b;
    }
  }
  auto r = BlockStreamReader::open(path);
  ASSERT_TRUE(r.ok());
  std::vector<uint8_t> rec;
  for (size_t n = 0; n < records.size(); ++n) {
    auto got = r->next(rec);
    ASSERT_TRUE(got.ok() && got.value()) << n;
    ASSERT_EQ(std::string(rec.begin(), rec.end()), records[n]) << "record " << n;
  }
  auto end = r->next(rec);
  ASSERT_TRUE(end.ok() && !end.value());
  EXPECT_TRUE(r->finished());

  // The first block's raw size made one byte larger than what is stored.
  std::string bad = file;
  uint32_t raw = (1u << 20) + 1;
  memcpy(bad.data() + 16 + 12, &raw, 4);
  spit(path, bad);
  EXPECT_NE(read_all(path).find("stored block size does not match its raw size at offset 16"), std::string::npos)
      << read_all(path);
}

// After a block kept as it is, blocks are judged by a sample of their
// middle; every 16th is compressed whole, so blocks whose middle is random
// but whose rest is text are not kept as they are for ever.
TEST(BlockStream, BlocksRandomOnlyInTheMiddleAreCompressedInTheEnd) {
  std::string path = temp_path("s");
  constexpr size_t kRecord = (32 << 10) - 4;  // 32 of them fill a 1 MiB block
  uint64_t x = 88172645463325252ull;
  constexpr int kBlocks = 41;
  {
    auto w = BlockStreamWriter::create(path, Codec::Zstd, 1 << 20);
    ASSERT_TRUE(w.ok());
    for (int b = 0; b < kBlocks; ++b) {
      for (int r = 0; r < 32; ++r) {
        // Block 0 all random; the others random in records 14 to 17 (the
        // 64 KiB sample in the middle), text around them.
        std::string s = b == 0 || (r >= 14 && r < 18) ? random_bytes(kRecord, x) : text_bytes(kRecord);
        ASSERT_TRUE(w->append(s.data(), s.size()).ok());
      }
      // Block 0 written (and so judged) before the next is handed off:
      // otherwise a second worker may compress block 1 whole meanwhile.
      if (b == 0) {
        ASSERT_TRUE(w->flush().ok());
      }
    }
    ASSERT_TRUE(w->finish().ok());
  }
  std::vector<std::string> blocks = split_blocks(slurp(path));
  ASSERT_EQ(blocks.size(), static_cast<size_t>(kBlocks + 1));
  EXPECT_EQ(codec_of(blocks[0]), static_cast<uint8_t>(Codec::None));
  EXPECT_EQ(codec_of(blocks[1]), static_cast<uint8_t>(Codec::None));  // judged by its sample
  for (size_t b = kBlocks - 20; b < kBlocks; ++b)
    EXPECT_EQ(codec_of(blocks[b]), static_cast<uint8_t>(Codec::Zstd)) << "block " << b;
  EXPECT_EQ(read_all(path), "");
}

// A block that fails its check fails again when the reader is asked for
// the next record once more: the reader does not read on in its bytes.
TEST(BlockStream, ABlockThatFailedFailsAgainOnTheNextRead) {
  std::string path = temp_path("s");
  {
    auto w = BlockStreamWriter::create(path, Codec::None, 4096);
    ASSERT_TRUE(w.ok());
    // Block 0: five records of 1000 bytes; block 1: three of 2000 (larger,
    // so that the last position in block 0 lies inside block 1's bytes).
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(w->append(std::string(1000, 'a').data(), 1000).ok());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(w->append(std::string(2000, 'b').data(), 2000).ok());
    ASSERT_TRUE(w->finish().ok());
  }
  std::string file = slurp(path);
  std::vector<std::string> blocks = split_blocks(file);
  ASSERT_EQ(blocks.size(), 3u);
  file[16 + blocks[0].size() + 32 + 3000] ^= 1;  // a byte of block 1's records
  spit(path, file);
  auto r = BlockStreamReader::open(path);
  ASSERT_TRUE(r.ok());
  std::vector<uint8_t> rec;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(r->next(rec).ok()) << i;
  auto first = r->next(rec);
  ASSERT_FALSE(first.ok());
  EXPECT_NE(first.error().message.find("block checksum mismatch"), std::string::npos) << first.error().message;
  auto again = r->next(rec);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().message, first.error().message);
}

// A write that fails on a worker (here the file size limit, as a full
// disk would) comes back from the writer's next call, and the stream reads
// as unfinished up to what was written.
TEST(BlockStream, AWorkersFailedWriteComesBackFromTheWriter) {
  std::string path = temp_path("s");
  struct rlimit old;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  auto old_handler = signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old;
  small.rlim_cur = 64 << 10;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  Status failure;
  {
    auto w = BlockStreamWriter::create(path, Codec::None, 4096);
    ASSERT_TRUE(w.ok());
    std::string s(3000, 'z');
    for (int i = 0; i < 200 && failure.ok(); ++i) failure = w->append(s.data(), s.size());
    // 600 KB against a 64 KiB limit: an append reports it, long before
    // finish() would.
    EXPECT_FALSE(failure.ok()) << "no append reported the failed write";
    if (failure.ok()) failure = w->finish();
  }
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, old_handler);
  ASSERT_FALSE(failure.ok());
  EXPECT_NE(failure.error().message.find(path), std::string::npos) << failure.error().message;
  // Read up to the cut (a block the limit cut in two reads as truncated).
  auto r = BlockStreamReader::open(path);
  ASSERT_TRUE(r.ok());
  std::vector<uint8_t> rec;
  int n = 0;
  for (;;) {
    auto got = r->next(rec);
    if (!got.ok()) {
      EXPECT_NE(got.error().message.find("truncated"), std::string::npos) << got.error().message;
      break;
    }
    if (!got.value()) {
      EXPECT_FALSE(r->finished());
      break;
    }
    ++n;
  }
  EXPECT_GT(n, 0);
  EXPECT_LT(n, 200);
}

// Reads `r` to its end, each record write_records' next one; how many
// were read before the end or the first error (which fails the test).
int read_in_order(BlockStreamReader& r) {
  std::vector<uint8_t> rec;
  int n = 0;
  for (;;) {
    auto got = r.next(rec);
    EXPECT_TRUE(got.ok()) << got.error().message;
    if (!got.ok() || !got.value()) return n;
    EXPECT_EQ(std::string(rec.begin(), rec.end()), record_text(n));
    ++n;
  }
}

// A reader that follows a stream while it is written (a replay behind a
// recording) waits at the end of what is written instead of ending there,
// sees each flushed batch in order, and ends at the end mark.
TEST(BlockStream, AFollowingReaderWaitsForEachFlush) {
  std::string path = temp_path("s");
  auto w = BlockStreamWriter::create(path, Codec::Zstd, 1 << 20);
  ASSERT_TRUE(w.ok());
  int written = 0;
  auto write_batch = [&](int n) {
    for (int i = 0; i < n; ++i, ++written) {
      std::string s = record_text(written);
      ASSERT_TRUE(w->append(s.data(), s.size()).ok());
    }
    ASSERT_TRUE(w->flush().ok());
  };
  write_batch(10);
  auto r = BlockStreamReader::open(path);
  ASSERT_TRUE(r.ok());
  int waits = 0;
  r->follow([&] {
    ++waits;
    if (waits < 3) {
      write_batch(7);
      return true;
    }
    EXPECT_TRUE(w->finish().ok());
    return false;  // the writer is gone
  });
  EXPECT_EQ(read_in_order(*r), 24);
  EXPECT_EQ(waits, 3);
  EXPECT_TRUE(r->finished());
}

// A block the writer has begun but not finished (its header written, part
// of its bytes) is waited for like the end of what is written, not
// reported as a truncated stream: the reader may look at the file between
// the writer's two writes.
TEST(BlockStream, AFollowingReaderWaitsForABlockWrittenInPart) {
  std::string whole_path = temp_path("whole");
  write_records(whole_path, Codec::Zstd, 3000);
  std::string whole = slurp(whole_path);
  std::vector<std::string> blocks = split_blocks(whole);
  ASSERT_GE(blocks.size(), 3u);
  for (size_t cut : {size_t(10), blocks[1].size() / 2}) {  // inside its header, inside its bytes
    size_t upto = 16 + blocks[0].size() + cut;
    std::string path = temp_path("part");
    spit(path, whole.substr(0, upto));
    auto r = BlockStreamReader::open(path);
    ASSERT_TRUE(r.ok());
    int waits = 0;
    r->follow([&] {
      ++waits;
      if (waits == 1) spit(path, whole);  // the writer finishes the block, and the stream
      return false;                      // then it is gone
    });
    EXPECT_EQ(read_in_order(*r), 3000) << "cut " << cut;
    EXPECT_EQ(waits, 1);
    EXPECT_TRUE(r->finished());
  }
}

TEST(BlockStream, BlocksMissingRepeatedMovedOrCutAreFound) {
  std::string path = temp_path("s");
  write_records(path, Codec::Zstd, 3000);
  std::string file = slurp(path);
  std::vector<std::string> blocks = split_blocks(file);
  ASSERT_GE(blocks.size(), 5u);
  std::string head = file.substr(0, 16);
  auto join = [&](const std::vector<std::string>& bs) {
    std::string out = head;
    for (const auto& b : bs) out += b;
    return out;
  };
  std::vector<std::string> dropped = blocks;
  dropped.erase(dropped.begin() + 2);
  std::vector<std::string> repeated = blocks;
  repeated.insert(repeated.begin() + 2, blocks[2]);
  std::vector<std::string> swapped = blocks;
  std::swap(swapped[1], swapped[2]);
  std::vector<std::string> no_end = blocks;
  no_end.pop_back();
  std::vector<std::string> after_end = blocks;
  after_end.push_back(blocks[1]);
  // A block renumbered to fit: its checksum is seeded with its number.
  std::vector<std::string> renumbered = dropped;
  for (size_t i = 2; i < renumbered.size(); ++i) {
    uint64_t seq = i;
    memcpy(renumbered[i].data() + 16, &seq, 8);
  }
  struct Case {
    const char* what;
    std::vector<std::string> blocks;
    const char* error;  // nullptr: reads cleanly but unfinished
  } cases[] = {
      {"a block dropped", dropped, "out of order"},
      {"a block repeated", repeated, "out of order"},
      {"two blocks swapped", swapped, "out of order"},
      {"renumbered after a drop", renumbered, "checksum"},
      {"a block after the end mark", after_end, "after the end mark"},
      {"cut at a block boundary", no_end, nullptr},
  };
  for (const Case& c : cases) {
    spit(path, join(c.blocks));
    bool finished = true;
    std::string error = read_all(path, &finished);
    if (c.error) {
      EXPECT_NE(error.find(c.error), std::string::npos) << c.what << ": " << error;
    } else {
      EXPECT_EQ(error, "") << c.what;
      EXPECT_FALSE(finished) << c.what;
    }
  }
}

TEST(BlockStream, AfterASeekTheRestIsStillChecked) {
  std::string path = temp_path("s");
  std::vector<StreamPos> positions;
  write_records(path, Codec::Zstd, 3000, &positions);
  auto r = BlockStreamReader::open(path);
  std::vector<uint8_t> buf;
  ASSERT_TRUE(r->seek(positions[2500]).ok());
  int n = 0;
  while (r->next(buf).value()) ++n;
  EXPECT_EQ(n, 500);
  EXPECT_TRUE(r->finished());
  // Back to an earlier block: numbering starts again from it.
  ASSERT_TRUE(r->seek(positions[10]).ok());
  n = 0;
  while (r->next(buf).value()) ++n;
  EXPECT_EQ(n, 2990);
  EXPECT_TRUE(r->finished());
}

// The reader reads the next block ahead on a worker thread: a damaged
// block in the middle of a stream still ends the read at it, with every
// record before it read and a message that names the block by its offset
// (the worker's read of it fails, and the block is read again by the
// reader, which names the damage). Seeks back and forth among blocks read
// ahead return the records at their positions.
TEST(BlockStream, ReadingAheadKeepsRecordsSeeksAndDamageAsTheyWere) {
  std::string path = temp_path("s");
  std::vector<StreamPos> positions;
  write_records(path, Codec::Zstd, 3000, &positions);
  {
    auto r = BlockStreamReader::open(path);
    ASSERT_TRUE(r.ok());
    for (int i : {2999, 5, 1500, 1501, 40, 2000}) expect_records_after_seek(*r, positions, i, std::min(300, 3000 - i));
  }
  // Damage a block well after the first: the one holding record 1700.
  uint64_t damaged = positions[1700].block_offset;
  ASSERT_GT(damaged, positions[1000].block_offset);
  int fd = ::open(path.c_str(), O_RDWR);
  char c = 0;
  ASSERT_EQ(pread(fd, &c, 1, damaged + 32 + 20), 1);  // inside its compressed bytes
  c ^= 0x5a;
  ASSERT_EQ(pwrite(fd, &c, 1, damaged + 32 + 20), 1);
  close(fd);
  auto r = BlockStreamReader::open(path);
  std::vector<uint8_t> buf;
  int read = 0;
  std::string error;
  for (;;) {
    auto more = r->next(buf);
    if (!more.ok()) {
      error = more.error().message;
      EXPECT_EQ(more.error().kind, ErrorKind::Corrupt);
      break;
    }
    ASSERT_TRUE(more.value()) << "the damaged stream ended cleanly";
    ASSERT_EQ(std::string(buf.begin(), buf.end()), record_text(read));
    ++read;
  }
  EXPECT_EQ(read, 1700 - (int)positions[1700].record_index) << "every record before the damaged block, none of it";
  EXPECT_NE(error.find("is corrupt"), std::string::npos) << error;
  EXPECT_NE(error.find("offset " + std::to_string(damaged)), std::string::npos) << "names the damaged block: " << error;
}

// A fork's child (replay forks its tracees from the reader's process) goes
// on reading without the parent's worker, which it does not have.
TEST(BlockStream, AForksChildReadsOnWithoutTheWorker) {
  std::string path = temp_path("s");
  write_records(path, Codec::Zstd, 3000);
  auto r = BlockStreamReader::open(path);
  std::vector<uint8_t> buf;
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(r->next(buf).value());
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    alarm(20);
    int i = 1000;
    for (;; ++i) {
      auto more = r->next(buf);
      if (!more.ok() || !more.value()) break;
      if (std::string(buf.begin(), buf.end()) != record_text(i)) _exit(2);
    }
    _exit(i == 3000 && r->finished() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  int i = 1000;
  while (r->next(buf).value()) ++i;
  EXPECT_EQ(i, 3000);
}

}  // namespace
}  // namespace rr
