// A block stream: an append-only file of records (opaque byte strings),
// grouped into blocks that are compressed and checksummed one by one, so a
// reader can verify each block and seek to any block without decompressing
// what precedes it. The trace's event stream is one; checkpoints store the
// position of the next record (StreamPos) to resume reading there.
//
// File layout: a 16-byte file header ("RRSTREAM", u32 version, u32 zero),
// then blocks. A block is a 32-byte header (u32 magic "RBLK", u8 codec,
// u8 flags, 2 zero bytes, u32 stored size, u32 raw size, u64 sequence
// number from 0, u64 XXH64 of the raw bytes seeded with the sequence
// number) followed by the stored bytes. Raw block bytes are records, each a
// u32 length and that many bytes. A finished stream ends with an end mark:
// a block with flag 1 whose 16 raw bytes count the data blocks and records
// before it. So every reader finds a block that is missing, repeated or
// moved (its number, which its checksum covers), and tells a finished
// stream from one whose writer was stopped or which was cut short.
// Version 1 streams (24-byte block headers, no numbers, no end mark) are
// still read.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/byte_buffer.h"
#include "util/result.h"
#include "util/scoped_fd.h"

namespace rr {

enum class Codec : uint8_t { None = 0, Zstd = 1, Zlib = 2 };

Result<Codec> parse_codec(const std::string& name);
const char* codec_name(Codec codec);

// Compresses `raw` with `codec` into `out` (a std::vector<uint8_t> or a
// ByteBuffer).
template <typename Bytes>
Status compress_block(Codec codec, const uint8_t* raw, size_t len, Bytes& out);
// Whether `stored` compressed bytes of `raw` save enough to be kept
// compressed: more than a 64th. Blocks that save a 64th or less are
// stored as they are, which a reader reads straight into place.
inline bool worth_compressing(size_t stored, size_t raw) { return stored < raw - raw / 64; }
// Decompresses `stored` into exactly `raw_len` bytes (`out` as above).
template <typename Bytes>
Status decompress_block(Codec codec, const uint8_t* stored, size_t len, size_t raw_len, Bytes& out);

// Where a record sits: the file offset of its block and its index in it.
struct StreamPos {
  uint64_t block_offset = 0;
  uint32_t record_index = 0;
  bool operator==(const StreamPos&) const = default;
};

// Full blocks are compressed by worker threads (one per CPU, at most
// four, started with the first block, every signal blocked) and written in
// order, so that compressing what a tracee read overlaps with the tracee
// and the recorder: zstd on this class of machine does about 220 MB/s,
// which was two thirds of `rr record grep -r` over 134 MB of headers. At
// most workers + 1 handed-off blocks are not yet written; a failure of a
// worker (a full disk) is returned by the next flush or finish, or by the
// next append that completes a block. A block compression would barely
// shrink is stored as it is (Codec::None; see worth_compressing).
class BlockStreamWriter {
 public:
  static Result<BlockStreamWriter> create(const std::string& path, Codec codec,
                                          size_t block_bytes = 1 << 20);
  BlockStreamWriter(BlockStreamWriter&&) noexcept;
  BlockStreamWriter& operator=(BlockStreamWriter&&) noexcept;
  // Waits for the blocks handed to the worker (written, not synced).
  ~BlockStreamWriter();

  Status append(const void* data, size_t len);
  // Appends a record of `len` bytes that `fill` writes in place, so that a
  // large record (a frame with a megabyte of syscall buffer records) is not
  // built somewhere else first and copied.
  Status append_filled(size_t len, const std::function<void(uint8_t*)>& fill);
  // Writes the pending records as a block (no-op when there are none) and
  // waits for the worker: a reader that opens or follows the file
  // afterwards sees them.
  Status flush();
  // Flushes and fsyncs; the writer is finished afterwards.
  Status finish();
  // Where the next record goes (waits for the worker).
  StreamPos position();

 private:
  struct State;
  BlockStreamWriter();
  std::unique_ptr<State> s_;
};

class BlockStreamReader {
 public:
  static Result<BlockStreamReader> open(const std::string& path);
  BlockStreamReader(BlockStreamReader&&) = default;
  BlockStreamReader& operator=(BlockStreamReader&&) = default;

  // Reads the next record into `out`. Returns false at the clean end of the
  // stream; an error for a truncated or corrupt block.
  Result<bool> next(std::vector<uint8_t>& out);
  // Position of the record next() would return.
  StreamPos position() const { return {block_offset_, record_index_}; }
  Status seek(StreamPos pos);
  // The position of the record just before `pos` (nullopt at the first
  // record), found by walking the block headers from the start when `pos`
  // begins a block. Moves the reader: seek afterwards.
  Result<std::optional<StreamPos>> record_before(StreamPos pos);
  // After next() returned false: whether the stream ended with its end mark
  // (always true for version 1 streams, which have none). False means its
  // writer never finished (killed) or the file was cut at a block boundary.
  bool finished() const { return version_ < 2 || end_seen_; }
  // Whether the file ends with a sound end mark, read from its last bytes
  // only (for listings; the counts in it are checked by a full read).
  bool ends_with_mark();
  // Follows a stream its writer is still appending to: where the file ends
  // without its end mark, next() calls `wait_for_more`, which returns once
  // the writer has flushed more (true) or is gone (false; the stream then
  // ends where the file does, finished or not).
  void follow(std::function<bool()> wait_for_more) { wait_for_more_ = std::move(wait_for_more); }

 private:
  struct BlockInfo {
    uint8_t codec, flags;
    uint32_t stored_size, raw_size;
    uint64_t seq, checksum;
    size_t header_size;
  };
  struct Ahead;
  // Frees an Ahead in the process whose thread it has (see Ahead).
  struct AheadDeleter {
    void operator()(Ahead* a) const;
  };
  BlockStreamReader() = default;
  Status read_block_header(uint64_t offset, BlockInfo& b);
  // Whether the file ends inside the block at `offset` (offset < file size).
  bool partial_at(uint64_t offset);
  // Reads the block at `offset` of file `fd` (`path` in errors), whose
  // header is `h`, into `raw` (a compressed one through `stored`) and
  // checks its sum: the reader's and its worker's way. On an error `raw`
  // holds bytes that did not check.
  static Status read_block_data(int fd, const std::string& path, uint64_t offset, const BlockInfo& h,
                                ByteBuffer& stored, ByteBuffer& raw);
  Status load_block(uint64_t offset);
  // The block at `offset`, if the worker read it ahead and it checked
  // (with the header `h` read here), into raw_.
  bool take_ahead(uint64_t offset, const BlockInfo& h);
  // Asks the worker for the block after the one just loaded.
  void read_ahead();
  Status check_end_mark(uint64_t seq, const std::string& at);
  std::string path_;
  ScopedFd fd_;
  uint64_t file_size_ = 0;
  uint64_t block_offset_ = 0;    // offset of the loaded block
  uint64_t next_block_ = 0;      // offset of the block after it
  uint32_t record_index_ = 0;    // records consumed from the loaded block
  size_t cursor_ = 0;            // byte offset in raw_
  bool loaded_ = false;
  uint32_t version_ = 0;
  std::optional<uint64_t> next_seq_;         // the number the next block must have (unknown after a seek)
  std::optional<uint64_t> records_counted_;  // records read from the start (unknown after a seek)
  bool end_seen_ = false;
  std::function<bool()> wait_for_more_;  // see follow()
  ByteBuffer raw_;
  ByteBuffer stored_;
  std::unique_ptr<Ahead, AheadDeleter> ahead_;  // the worker reading ahead, once asked for
  bool no_ahead_ = false;                        // no worker could be had: none is asked for again
};

}  // namespace rr
