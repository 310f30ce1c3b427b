// PageScanner: the one place that reads a mapping's pages and says which of
// them hold something a copy of the process must keep. The exec image
// (record), persistent checkpoints and `rr state`'s content hashes all
// walk mappings with it, so that "zero", "same as the file" and "never
// touched" mean the same everywhere.
//
// Its cost is proportional to the populated memory, not to the size of the
// mappings: the kernel says which pages are present or swapped out
// (PAGEMAP_SCAN, in ranges), only those are read, and every stretch of
// untouched pages between them is one run however large (a sanitizer's
// terabytes of reserved shadow cost what it touched).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/address_space.h"
#include "util/scoped_fd.h"

namespace rr {

class Task;

enum class PageKind : uint8_t {
  // Never faulted in (neither present nor swapped): it holds zeros
  // (anonymous memory) or the file's bytes (a file mapping), which a
  // rebuilt mapping holds too.
  Untouched,
  Zero,        // anonymous memory that is all zero (read, or the kernel's zero page)
  AsFile,      // a file mapping's page equal to the file's bytes
  Unreadable,  // cannot be read: past the end of the mapped file
  Data,        // anything else: its bytes must be kept
  // In memory, the process's own copy (not a file's page, not the zero
  // page), and not written since the write tracker last protected it
  // (WriteTracker): it holds what it held then. Only a scan that trusts
  // the tracking reports it; no bytes.
  Unwritten,
};

// Pages of [start, end) the kernel has populated (present or swapped out).
struct PopulatedRange {
  RemotePtr<> start, end;
  bool zero_page = false;  // every page maps the kernel's shared zero page: zeros, nothing to read
  // Every page is the process's own copy and kept the write protection the
  // write tracker gave it (see PageKind::Unwritten).
  bool unwritten = false;
};

class PageScanner {
 public:
  // `trace_dir` holds a file mapping's file (MappingRecord::file).
  PageScanner(Task& t, std::string trace_dir);

  // Calls visit(addr, pages, kind, bytes) for runs of consecutive pages of
  // one kind that together cover `m`, in address order. `bytes` holds the
  // run's content (pages * kPageSize bytes) for Data and AsFile, and for
  // Untouched pages of a file mapping when `untouched_bytes` (the file's
  // bytes, zeros after its end); nullptr otherwise: Zero pages, Untouched
  // anonymous pages and Untouched pages in a hole of the file are zeros,
  // Unreadable ones have none. A run with bytes
  // is at most kScanChunkPages long; a run without can be the whole mapping.
  // How a mapping is cut into runs depends on what was populated, so a
  // caller that must not depend on it (a hash) looks at pages, not runs.
  // Special mappings (the vDSO, the rr page) and shared ones (another
  // mapping may have written pages this one never touched) are read whole.
  using Visit = std::function<void(RemotePtr<> addr, size_t pages, PageKind kind, const uint8_t* bytes)>;
  void scan(const MappingRecord& m, const Visit& visit, bool untouched_bytes = false);

  // The populated pages of [start, end) (page aligned, inside mappings), in
  // address order, adjacent ranges of one sort merged. With PAGEMAP_SCAN
  // (Linux 6.7 on) the kernel skips empty page tables; without it,
  // /proc/PID/pagemap is read in large pieces. False when neither can be
  // read (then every page must be taken as populated).
  bool populated(RemotePtr<> start, RemotePtr<> end, std::vector<PopulatedRange>& out);

  // Write tracking (see WriteTracker): from now on a scan of a private
  // mapping the tracker registered write-protects its populated pages again
  // as it finds them (so that the next checkpoint sees what was written
  // after this one) and, with `trust` (the protection dates from the
  // checkpoint this one is written against), reports the pages not written
  // since as Unwritten runs instead of reading them. A mapping the tracker
  // did not register is scanned as without tracking.
  void track_writes(bool trust) {
    tracking_ = true;
    trust_ = trust;
  }

  static constexpr size_t kScanChunkPages = 1024;  // pages read from the tracee with one call

 private:
  // `protect`: PM_SCAN_WP_MATCHING, refused (false) unless the range is
  // registered for asynchronous write protection.
  bool populated_by_ioctl(RemotePtr<> start, RemotePtr<> end, std::vector<PopulatedRange>& out, bool protect = false);
  bool populated_by_pagemap(RemotePtr<> start, RemotePtr<> end, std::vector<PopulatedRange>& out);

  Task& t_;
  std::string trace_dir_;
  ScopedFd pagemap_;
  bool ioctl_works_ = true;  // cleared when the kernel has no PAGEMAP_SCAN
  bool tracking_ = false, trust_ = false;  // see track_writes
  // Left uninitialized: every byte read from them was written first, and
  // zeroing 8 MiB at each exec's image capture (its pages faulted in) was
  // 2% of rr record python3 -c pass's samples.
  std::unique_ptr<uint8_t[]> buf_, file_buf_;
  std::vector<uint64_t> pm_;
};

}  // namespace rr
