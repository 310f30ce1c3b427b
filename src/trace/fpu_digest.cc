#include "trace/fpu_digest.h"

#include <algorithm>
#include <xxhash.h>

#include "core/task.h"

namespace rr {

namespace {

struct ByteRange {
  size_t begin, end;
};

// The bytes of the standard-format XSAVE area that are not state (see the
// header), in increasing order.
constexpr ByteRange kNotState[] = {{6, 24}, {464, 512}, {512, 576}};

}  // namespace

uint64_t fpu_digest(const std::string& xsave) {
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  size_t from = 0;
  for (const ByteRange& r : kNotState) {
    if (r.begin >= xsave.size()) break;
    XXH3_64bits_update(st, xsave.data() + from, r.begin - from);
    from = std::min(r.end, xsave.size());
  }
  if (from < xsave.size()) XXH3_64bits_update(st, xsave.data() + from, xsave.size() - from);
  uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return h ? h : 1;
}

uint64_t fpu_digest(Task& t) {
  std::optional<std::string> area = t.try_xsave();
  return area ? fpu_digest(*area) : 0;
}

}  // namespace rr
