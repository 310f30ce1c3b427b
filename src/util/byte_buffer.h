// A growable byte array whose growth leaves the new bytes as they are,
// where std::vector<uint8_t> zeroes them: for buffers filled right after
// they grow (by a read, a copy, a compressor or a decompressor), in which
// zeroing a megabyte first costs about what filling it does. Moved, not
// copied; clear() keeps the capacity, as a vector's does.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>

namespace rr {

class ByteBuffer {
 public:
  ByteBuffer() = default;
  explicit ByteBuffer(size_t n) { resize(n); }
  ByteBuffer(ByteBuffer&& o) noexcept
      : bytes_(std::move(o.bytes_)), size_(std::exchange(o.size_, 0)), capacity_(std::exchange(o.capacity_, 0)) {}
  ByteBuffer& operator=(ByteBuffer&& o) noexcept {
    bytes_ = std::move(o.bytes_);
    size_ = std::exchange(o.size_, 0);
    capacity_ = std::exchange(o.capacity_, 0);
    return *this;
  }
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;

  uint8_t* data() { return bytes_.get(); }
  const uint8_t* data() const { return bytes_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void clear() { size_ = 0; }
  // Room for `n` bytes; the first size() are kept.
  void reserve(size_t n) {
    if (n <= capacity_) return;
    auto bigger = std::make_unique_for_overwrite<uint8_t[]>(n);
    if (size_) memcpy(bigger.get(), bytes_.get(), std::min(size_, n));  // size_ <= capacity_ < n
    bytes_ = std::move(bigger);
    capacity_ = n;
  }
  // The first min(n, size()) bytes are kept; any after them are as they were.
  void resize(size_t n) {
    if (n > capacity_) reserve(std::max(n, capacity_ * 2));
    size_ = n;
  }
  void swap(ByteBuffer& o) noexcept {
    std::swap(bytes_, o.bytes_);
    std::swap(size_, o.size_);
    std::swap(capacity_, o.capacity_);
  }

 private:
  std::unique_ptr<uint8_t[]> bytes_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace rr
