#pragma once
// Bytes that are either a string of their own or a view into memory that
// something else keeps alive (a plan file mapped read-only): a plan read
// from its file is used in place, not copied (python3's 4.7 MB plan took
// some 8 ms to read into strings and copy again, at every start of it in
// record and in replay). Changing the bytes makes them a string of their
// own first.
#include <memory>
#include <string>
#include <string_view>

namespace rr {

class SharedBytes {
 public:
  SharedBytes() = default;
  SharedBytes(std::string s) : own_(std::move(s)) {}  // NOLINT: a string is owned bytes
  // `view` stays valid as long as `keep` lives (without `keep`, a copy).
  SharedBytes(std::shared_ptr<const void> keep, std::string_view view) : keep_(std::move(keep)), view_(view) {
    if (!keep_) {
      own_.assign(view);
      view_ = {};
    }
  }

  const char* data() const { return keep_ ? view_.data() : own_.data(); }
  size_t size() const { return keep_ ? view_.size() : own_.size(); }
  bool empty() const { return size() == 0; }
  char operator[](size_t i) const { return data()[i]; }
  std::string_view view() const { return {data(), size()}; }
  // The bytes to change (or to add to), a copy of the view first.
  std::string& own() {
    if (keep_) {
      own_.assign(view_);
      keep_.reset();
      view_ = {};
    }
    return own_;
  }

  friend bool operator==(const SharedBytes& a, const SharedBytes& b) { return a.view() == b.view(); }

 private:
  std::string own_;
  std::shared_ptr<const void> keep_;  // set: the bytes are view_
  std::string_view view_;
};

}  // namespace rr
