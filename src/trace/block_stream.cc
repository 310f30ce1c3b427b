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
constexpr uint32_t kFileVersion = 1;
constexpr uint32_t kBlockMagic = 0x4b4c4252;  // "RBLK"
constexpr size_t kFileHeaderSize = 16;
constexpr size_t kBlockHeaderSize = 24;
constexpr uint32_t kMaxBlockBytes = 256u << 20;

struct BlockHeader {
  uint32_t magic;
  uint8_t codec;
  uint8_t pad[3];
  uint32_t stored_size;
  uint32_t raw_size;
  uint64_t checksum;
};
static_assert(sizeof(BlockHeader) == kBlockHeaderSize);

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
  uint32_t n = static_cast<uint32_t>(len);
  const uint8_t* p = reinterpret_cast<const uint8_t*>(&n);
  pending_.insert(pending_.end(), p, p + 4);
  const uint8_t* d = static_cast<const uint8_t*>(data);
  pending_.insert(pending_.end(), d, d + len);
  ++pending_records_;
  if (pending_.size() >= block_bytes_) return flush();
  return {};
}

Status BlockStreamWriter::flush() {
  if (pending_records_ == 0) return {};
  RR_TRY(compress_block(codec_, pending_.data(), pending_.size(), scratch_));
  BlockHeader h{};
  h.magic = kBlockMagic;
  h.codec = static_cast<uint8_t>(codec_);
  h.stored_size = static_cast<uint32_t>(scratch_.size());
  h.raw_size = static_cast<uint32_t>(pending_.size());
  h.checksum = XXH64(pending_.data(), pending_.size(), 0);
  RR_TRY(write_all(fd_.get(), &h, sizeof(h), path_));
  RR_TRY(write_all(fd_.get(), scratch_.data(), scratch_.size(), path_));
  file_offset_ += sizeof(h) + scratch_.size();
  pending_.clear();
  pending_records_ = 0;
  return {};
}

Status BlockStreamWriter::finish() {
  RR_TRY(flush());
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
  r.next_block_ = kFileHeaderSize;
  r.block_offset_ = kFileHeaderSize;
  return r;
}

Status BlockStreamReader::load_block(uint64_t offset) {
  BlockHeader h;
  if (offset + sizeof(h) > file_size_) return make_error(ErrorKind::Corrupt, path_ + " is truncated (partial block header)");
  if (pread(fd_.get(), &h, sizeof(h), offset) != (ssize_t)sizeof(h))
    return make_error("cannot read " + path_ + ": " + strerror(errno));
  if (h.magic != kBlockMagic) return make_error(ErrorKind::Corrupt, path_ + " is corrupt (bad block magic at offset " + std::to_string(offset) + ")");
  if (h.raw_size > kMaxBlockBytes || h.stored_size > kMaxBlockBytes)
    return make_error(ErrorKind::Corrupt, path_ + " is corrupt (impossible block size at offset " + std::to_string(offset) + ")");
  if (offset + sizeof(h) + h.stored_size > file_size_) return make_error(ErrorKind::Corrupt, path_ + " is truncated (partial block)");
  stored_.resize(h.stored_size);
  if (pread(fd_.get(), stored_.data(), h.stored_size, offset + sizeof(h)) != (ssize_t)h.stored_size)
    return make_error("cannot read " + path_ + ": " + strerror(errno));
  if (h.codec > static_cast<uint8_t>(Codec::Zlib)) return make_error(ErrorKind::Corrupt, path_ + " is corrupt (unknown codec)");
  Status st = decompress_block(static_cast<Codec>(h.codec), stored_.data(), stored_.size(), h.raw_size, raw_);
  if (!st.ok()) return make_error(ErrorKind::Corrupt, path_ + " is corrupt (" + st.error().message + ")");
  if (XXH64(raw_.data(), raw_.size(), 0) != h.checksum)
    return make_error(ErrorKind::Corrupt, path_ + " is corrupt (block checksum mismatch at offset " + std::to_string(offset) + ")");
  block_offset_ = offset;
  next_block_ = offset + sizeof(h) + h.stored_size;
  record_index_ = 0;
  cursor_ = 0;
  loaded_ = true;
  return {};
}

Result<bool> BlockStreamReader::next(std::vector<uint8_t>& out) {
  while (!loaded_ || cursor_ >= raw_.size()) {
    uint64_t at = loaded_ ? next_block_ : block_offset_;
    if (at >= file_size_) {
      // Leave the position at the end so that position() names it.
      if (loaded_) {
        block_offset_ = next_block_;
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
  if (cursor_ + 4 + len > raw_.size()) return make_error(ErrorKind::Corrupt, path_ + " is corrupt (record past block end)");
  out.assign(raw_.begin() + cursor_ + 4, raw_.begin() + cursor_ + 4 + len);
  cursor_ += 4 + len;
  ++record_index_;
  return true;
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
  RR_TRY(load_block(pos.block_offset));
  std::vector<uint8_t> skip;
  for (uint32_t i = 0; i < pos.record_index; ++i) {
    if (cursor_ >= raw_.size()) return make_error(path_ + ": position past the end of its block");
    RR_ASSIGN_OR_RETURN(bool more, next(skip));
    if (!more) return make_error(path_ + ": position past the end of the stream");
  }
  return {};
}

}  // namespace rr
