// FileCache: the copies of mapped files kept between recordings. A trace
// holds a copy of every file its processes map (trace/file_store.h), so that
// replay never reads the file system the recording saw; python3's start-up
// maps 19 MB of files, and on a file system without shared extents (ext4)
// every `rr record` copied and summed all of them again (13% of the
// recorder's CPU, and 19 MB of disk writes per recording). The cache keeps
// one copy per file identity and links it into each trace's files/: the
// trace still holds its own name for the bytes, which no change to the
// original can reach (the original is never linked: its link count and
// ctime stay as the program knows them).
//
// A copy stands for the file whose identity (device, inode, size, mtime and
// ctime, to the nanosecond) it was made from, so that a file with that
// identity today has those bytes: only files whose times lie
// kSettledSeconds or more in the past and that have no dirty pages are
// cached, and only when their identity did not move while they were copied
// (settled_file in core/plan_store.h says why).
// Each copy has a note (`<name>.sum`) with its sum and the copy's own inode,
// size and mtime: a copy written since (by hand) no longer matches its note
// and is not used. And whatever a trace links, its sums file lists the
// copy's sum, which replay checks before it maps the file: a cached copy
// damaged later makes replay stop with one line naming it, never replay
// from other bytes.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>

#include "trace/trace_sums.h"

namespace rr {

class FileCache {
 public:
  // The cache in `dir` (made when first written to), holding at most
  // `max_bytes` of copies and caching only files whose times are at least
  // `settled_seconds` old; an empty `dir` keeps nothing.
  explicit FileCache(std::string dir, uint64_t max_bytes = kMaxBytes, int64_t settled_seconds = kSettledSeconds)
      : dir_(std::move(dir)), max_bytes_(max_bytes), settled_seconds_(settled_seconds) {}

  // Where recordings keep their copies: $RR_FILE_CACHE when it is set
  // (empty or "off": nowhere), else $XDG_CACHE_HOME/rr/files, else
  // $HOME/.cache/rr/files; empty when none of them is set.
  static std::string default_dir();

  // Whether the file open at `fd`, whose identity is `st`, may be cached
  // (checked before it is copied): a regular file with a name, settled.
  bool cacheable(int fd, const struct stat& st) const;

  // Links the cached copy of the file whose identity is `st` (cacheable)
  // at `dest` (a new name) and returns its sum; nullopt when the cache
  // holds no copy that checks against its note, or the link cannot be made
  // (another file system, no permission): the caller copies the file.
  std::optional<PartSum> link_into(const struct stat& st, const std::string& tag, const std::string& dest) const;

  // Keeps `copy` (a new copy, made from the file whose identity was `st`,
  // cacheable before the copy and the same after it, with sum `sum`) as
  // that file's cached copy, by linking it; then removes the least
  // recently used copies beyond the limits. A cache that cannot be written
  // is logged (RR_LOG) and otherwise ignored: the trace has its copy.
  void keep(const struct stat& st, const std::string& tag, const std::string& copy, const PartSum& sum) const;

  // What of the contents of the file open at `fd` (identity `st`) joins its
  // identity in naming its copy (`tag` above): its build id where it is an
  // ELF file with one, and a hash of its first and last pages. On a
  // read-only image the times are fixed and device and inode numbers are
  // reused by the next image on the same loop device, so another file of
  // the same size can have the same identity; its contents differ there.
  static std::string content_tag(int fd, const struct stat& st);

  const std::string& dir() const { return dir_; }

  // A few programs' libraries (python3's start-up maps 19 MB of files).
  static constexpr uint64_t kMaxBytes = 1ull << 30;
  static constexpr size_t kMaxFiles = 2048;
  // Far above any file system's time stamp granularity (FAT's is 2 s).
  static constexpr int64_t kSettledSeconds = 10;

 private:
  std::string name_of(const struct stat& st, const std::string& tag) const;  // 32 hex digits
  void trim(const std::string& keep) const;
  std::string dir_;
  uint64_t max_bytes_;
  int64_t settled_seconds_;
};

}  // namespace rr
