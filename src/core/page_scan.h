// PageScanner: the one place that reads a mapping's pages and says which of
// them hold something a copy of the process must keep. The exec image
// (record), persistent checkpoints and `rr state`'s content hashes all
// walk mappings with it, so that "zero", "same as the file" and "never
// touched" mean the same everywhere.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/address_space.h"
#include "util/scoped_fd.h"

namespace rr {

class Task;

enum class PageKind : uint8_t {
  // Never faulted in (pagemap says neither present nor swapped): it holds
  // zeros (anonymous memory) or the file's bytes (a file mapping), which a
  // rebuilt mapping holds too.
  Untouched,
  Zero,        // anonymous memory that is all zero
  AsFile,      // a file mapping's page equal to the file's bytes
  Unreadable,  // cannot be read: past the end of the mapped file
  Data,        // anything else: its bytes must be kept
};

class PageScanner {
 public:
  // `trace_dir` holds a file mapping's file (MappingRecord::file).
  PageScanner(Task& t, std::string trace_dir);

  // Calls visit(addr, kind, bytes) for every page of `m`, in address order.
  // `bytes` is the page's content (kPageSize bytes) for Data, Zero and
  // AsFile, and for Untouched when `untouched_bytes` (zeros, or the file's
  // bytes padded with zeros); nullptr otherwise. Special mappings (the
  // vDSO, the rr page) are read as they are: every readable page is Data.
  using Visit = std::function<void(RemotePtr<> addr, PageKind kind, const uint8_t* bytes)>;
  void scan(const MappingRecord& m, const Visit& visit, bool untouched_bytes = false);

 private:
  Task& t_;
  std::string trace_dir_;
  ScopedFd pagemap_;
  std::vector<uint8_t> buf_, file_buf_, zeros_;
  std::vector<uint64_t> pm_;
};

}  // namespace rr
