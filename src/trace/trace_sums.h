// The `sums` file of a trace: one line per part of the trace that replay
// trusts besides the event stream (which checks itself block by block):
// the header, each copy in files/, and the shared-files list. A line is
// "<XXH3-64 in 16 hex digits> <size in bytes> <path relative to the trace>";
// a 'z' right after the digits marks the sparse sum of a file with holes
// (format 1.6): XXH3 over (page number, page) of its pages that are not all
// zeros, which costs nothing for a hole (a 1 TiB memfd with a page of data).
// Lines are appended as the parts are written, so a recording that is
// killed still lists what it wrote. Readers check a part before they use
// it; traces older than format 1.3 have no sums and are not checked.
// A part the recorder rewrites (the shared-files list) has a line per
// version, appended before that version replaces the file, so a reader of
// a trace that is still recorded (the checkpoint writer of `rr record
// --checkpoint-every`) finds the line of whatever version it read.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace rr {

struct PartSum {
  uint64_t hash = 0;
  uint64_t size = 0;
  bool sparse = false;  // the sparse sum (see above)
};

// The sum of a file's contents, or of bytes in memory. `sparse` chooses the
// kind; without it a file with holes gets the sparse sum.
Result<PartSum> sum_file(const std::string& path, std::optional<bool> sparse = std::nullopt);
PartSum sum_bytes(const void* data, size_t len);

// Appends "<sum> <size> <rel>" to `trace_dir`/sums.
Status append_sum(const std::string& trace_dir, const std::string& rel, const PartSum& sum);

class TraceSums {
 public:
  // Loads `trace_dir`/sums; `required` (format 1.3 and later) makes a
  // missing file an error, else checks are off.
  static Result<TraceSums> load(const std::string& trace_dir, bool required);
  // Checks bytes already read (the header, a list) against the lines of
  // `rel`: they must be one version the recorder listed. Bytes that match
  // none are checked again against the sums as they are now (a version
  // written since they were loaded).
  Status check_bytes(const std::string& rel, const void* data, size_t len);
  // Checks the file `rel` of the trace (once per process while the file
  // keeps its inode, size and modification time).
  Status check_file(const std::string& rel);

 private:
  std::string dir_;
  bool on_ = false;
  // Every version listed of each part, in the order written (files in
  // files/ have one).
  std::map<std::string, std::vector<PartSum>> sums_;
};

}  // namespace rr
