// A one-line progress display on stderr for long work (seeking to an event,
// creating checkpoints). Shown only when stderr is a terminal, redrawn at
// most a few times a second, and erased when done; silent otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace rr {

class Progress {
 public:
  explicit Progress(std::string what) : what_(std::move(what)), enabled_(isatty(2)) {}
  ~Progress() { done(); }

  // `total` may be 0 when unknown.
  void update(uint64_t at, uint64_t total, const std::string& extra = "") {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    if (shown_ && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    shown_ = true;
    if (total) {
      int width = 30, filled = int(double(at) / double(total) * width);
      if (filled > width) filled = width;
      fprintf(stderr, "\r%s [%.*s%*s] event %llu/%llu%s\033[K", what_.c_str(), filled, "==============================",
              width - filled, "", (unsigned long long)at, (unsigned long long)total, extra.c_str());
    } else {
      fprintf(stderr, "\r%s: event %llu%s\033[K", what_.c_str(), (unsigned long long)at, extra.c_str());
    }
    fflush(stderr);
  }

  void done() {
    if (enabled_ && shown_) {
      fprintf(stderr, "\r\033[K");
      fflush(stderr);
    }
    shown_ = false;
  }

 private:
  std::string what_;
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace rr
