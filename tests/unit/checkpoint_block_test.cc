// A checkpoint's page block is checked against the XXH3-128 of each page
// where the file carries them (pageHashes), and against the block's XXH64
// where it does not (files older than 4.1, 3.3, 2.5) or where they do not
// cover the block: a changed byte fails either way.
#include <gtest/gtest.h>
#include <xxhash.h>

#include <capnp/message.h>

#include <random>
#include <vector>

#include "checkpoint/checkpoint.h"

namespace rr {
namespace {

std::vector<uint8_t> random_pages(size_t pages) {
  std::vector<uint8_t> raw(pages * kPageSize);
  std::mt19937 gen(7);
  for (auto& b : raw) b = (uint8_t)gen();
  return raw;
}

std::string page_hashes(const std::vector<uint8_t>& raw) {
  std::string out;
  for (size_t off = 0; off < raw.size(); off += kPageSize) {
    XXH128_hash_t h = XXH3_128bits(raw.data() + off, kPageSize);
    out.append(reinterpret_cast<const char*>(&h.low64), 8);
    out.append(reinterpret_cast<const char*>(&h.high64), 8);
  }
  return out;
}

TEST(CheckpointBlock, IsCheckedByItsPageHashes) {
  std::vector<uint8_t> raw = random_pages(3);
  std::string hashes = page_hashes(raw);
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<ckpt::PageBlock>();
  b.setRawSize(raw.size());
  b.setChecksum(0);  // not what is checked when the page hashes are there
  b.setPageHashes(kj::arrayPtr(reinterpret_cast<const kj::byte*>(hashes.data()), hashes.size()));
  EXPECT_TRUE(CheckpointReader::block_matches(b.asReader(), raw));
  for (size_t at : {(size_t)0, kPageSize + 17, raw.size() - 1}) {
    std::vector<uint8_t> changed = raw;
    changed[at] ^= 0x40;
    EXPECT_FALSE(CheckpointReader::block_matches(b.asReader(), changed)) << "a byte changed at " << at;
  }
}

TEST(CheckpointBlock, WithoutPageHashesIsCheckedByItsXxh64) {
  std::vector<uint8_t> raw = random_pages(2);
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<ckpt::PageBlock>();
  b.setRawSize(raw.size());
  b.setChecksum(XXH64(raw.data(), raw.size(), 0));
  EXPECT_TRUE(CheckpointReader::block_matches(b.asReader(), raw));
  std::vector<uint8_t> changed = raw;
  changed[kPageSize + 5] ^= 1;
  EXPECT_FALSE(CheckpointReader::block_matches(b.asReader(), changed));
  // Hashes of another length than the block's pages: the XXH64 decides.
  std::string short_hashes = page_hashes(raw).substr(16);
  b.setPageHashes(kj::arrayPtr(reinterpret_cast<const kj::byte*>(short_hashes.data()), short_hashes.size()));
  EXPECT_TRUE(CheckpointReader::block_matches(b.asReader(), raw));
  EXPECT_FALSE(CheckpointReader::block_matches(b.asReader(), changed));
}

}  // namespace
}  // namespace rr
