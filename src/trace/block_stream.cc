#include "trace/block_stream.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
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

Status compress_block(Codec codec, const uint8_t* raw, size_t len, std::vector<uint8_t>& out) {
  switch (codec) {
    case Codec::None:
      out.assign(raw, raw + len);
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

Status decompress_block(Codec codec, const uint8_t* stored, size_t len, size_t raw_len,
                        std::vector<uint8_t>& out) {
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

Result<BlockStreamWriter> BlockStreamWriter::create(const std::string& path, Codec codec,
                                                    size_t block_bytes) {
  BlockStreamWriter w;
  w.path_ = path;
  w.fd_ = ScopedFd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!w.fd_.is_open()) return make_error("cannot create " + path + ": " + strerror(errno));
  w.codec_ = codec;
  w.block_bytes_ = block_bytes;
  uint8_t header[kFileHeaderSize] = {};
  memcpy(header, kFileMagic, 8);
  memcpy(header + 8, &kFileVersion, 4);
  RR_TRY(write_all(w.fd_.get(), header, sizeof(header), path));
  w.file_offset_ = kFileHeaderSize;
  return w;
}

Status BlockStreamWriter::append(const void* data, size_t len) {
  return append_filled(len, [&](uint8_t* out) { memcpy(out, data, len); });
}

Status BlockStreamWriter::append_filled(size_t len, const std::function<void(uint8_t*)>& fill) {
  uint32_t n = static_cast<uint32_t>(len);
  size_t at = pending_.size();
  pending_.resize(at + 4 + len);
  memcpy(pending_.data() + at, &n, 4);
  fill(pending_.data() + at + 4);
  ++pending_records_;
  if (pending_.size() >= block_bytes_) return flush();
  return {};
}

Status BlockStreamWriter::write_block(uint8_t flags, const std::vector<uint8_t>& raw) {
  RR_TRY(compress_block(flags & kEndMark ? Codec::None : codec_, raw.data(), raw.size(), scratch_));
  BlockHeader h{};
  h.magic = kBlockMagic;
  h.codec = static_cast<uint8_t>(flags & kEndMark ? Codec::None : codec_);
  h.flags = flags;
  h.stored_size = static_cast<uint32_t>(scratch_.size());
  h.raw_size = static_cast<uint32_t>(raw.size());
  h.seq = blocks_;
  h.checksum = XXH64(raw.data(), raw.size(), h.seq);
  RR_TRY(write_all(fd_.get(), &h, sizeof(h), path_));
  RR_TRY(write_all(fd_.get(), scratch_.data(), scratch_.size(), path_));
  file_offset_ += sizeof(h) + scratch_.size();
  return {};
}

Status BlockStreamWriter::flush() {
  if (pending_records_ == 0) return {};
  RR_TRY(write_block(0, pending_));
  ++blocks_;
  records_ += pending_records_;
  pending_.clear();
  pending_records_ = 0;
  return {};
}

Status BlockStreamWriter::finish() {
  RR_TRY(flush());
  EndMark end{blocks_, records_};
  std::vector<uint8_t> raw(reinterpret_cast<const uint8_t*>(&end), reinterpret_cast<const uint8_t*>(&end) + sizeof(end));
  RR_TRY(write_block(kEndMark, raw));
  if (fsync(fd_.get()) != 0) return make_error("cannot sync " + path_ + ": " + strerror(errno));
  fd_.reset();
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

Status BlockStreamReader::load_block(uint64_t offset) {
  BlockInfo h;
  RR_TRY(read_block_header(offset, h));
  std::string at = " at offset " + std::to_string(offset);
  // In a numbered stream every block must be the one that follows the last:
  // a dropped, repeated or moved block is found here.
  if (version_ >= 2 && next_seq_ && h.seq != *next_seq_)
    return make_error(ErrorKind::Corrupt, path_ + " is corrupt (block " + std::to_string(h.seq) + " where block " +
                      std::to_string(*next_seq_) + " belongs" + at + ": blocks missing, repeated or out of order)");
  stored_.resize(h.stored_size);
  if (pread(fd_.get(), stored_.data(), h.stored_size, offset + h.header_size) != (ssize_t)h.stored_size)
    return make_error("cannot read " + path_ + ": " + strerror(errno));
  Status st = decompress_block(static_cast<Codec>(h.codec), stored_.data(), stored_.size(), h.raw_size, raw_);
  if (!st.ok()) return make_error(ErrorKind::Corrupt, path_ + " is corrupt (" + st.error().message + ")");
  if (XXH64(raw_.data(), raw_.size(), h.seq) != h.checksum)
    return make_error(ErrorKind::Corrupt, path_ + " is corrupt (block checksum mismatch" + at + ")");
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
    if (at >= file_size_ && !end_seen_ && wait_for_more_) {
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
  }
  uint32_t len;
  if (cursor_ + 4 > raw_.size()) return make_error(ErrorKind::Corrupt, path_ + " is corrupt (record header past block end)");
  memcpy(&len, raw_.data() + cursor_, 4);
  if (len > raw_.size() - cursor_ - 4) return make_error(ErrorKind::Corrupt, path_ + " is corrupt (record past block end)");
  out.assign(raw_.begin() + cursor_ + 4, raw_.begin() + cursor_ + 4 + len);
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
