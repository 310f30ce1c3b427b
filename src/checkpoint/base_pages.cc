#include "checkpoint/base_pages.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <xxhash.h>
#include <xxh_x86dispatch.h>

#include "checkpoint/checkpoint.h"
#include "core/page_scan.h"
#include "core/task.h"

namespace rr {

namespace {

// The page hash at `offset` of block `block`, counted as `r` counts blocks
// (its own, then its base's); false when the block carries none.
bool page_hash(const CheckpointReader& r, uint32_t block, uint32_t offset, uint64_t out[2]) {
  const CheckpointReader* c = &r;
  while (c && block >= c->info().getBlocks().size()) {
    block -= c->info().getBlocks().size();
    c = c->base();
  }
  if (!c) return false;
  auto hashes = c->info().getBlocks()[block].getPageHashes();
  size_t at = offset / kPageSize * 16;
  if (offset % kPageSize != 0 || at + 16 > hashes.size()) return false;
  memcpy(out, hashes.begin() + at, 16);
  return true;
}

}  // namespace

BasePages::BasePages(const CheckpointReader& base, RecordedTid tgid) : event_(base.info().getEvent()) {
  for (auto proc : base.info().getProcesses()) {
    if (proc.getTgid() != tgid.value) continue;
    has_process_ = true;
    auto refs = proc.getPages();
    pages_.reserve(refs.size());
    for (auto p : refs) {
      Page page{p.getAddr(), base.block_of(p), p.getOffset(), 0, 0};
      uint64_t h[2];
      // Without its hash a page could not be checked, nor found by the
      // untracked road: the base is not one an incremental checkpoint is
      // written against (find_base), so this does not happen.
      if (!page_hash(base, page.block, page.offset, h)) {
        has_process_ = false;
        pages_.clear();
        return;
      }
      page.hash_low = h[0];
      page.hash_high = h[1];
      pages_.push_back(page);
    }
    break;
  }
  std::sort(pages_.begin(), pages_.end(), [](const Page& a, const Page& b) { return a.addr < b.addr; });
}

const BasePages::Page* BasePages::find(RemotePtr<> addr) const {
  auto it = std::lower_bound(pages_.begin(), pages_.end(), addr.as_int(),
                             [](const Page& p, uint64_t a) { return p.addr < a; });
  return it != pages_.end() && it->addr == addr.as_int() ? &*it : nullptr;
}

bool verify_write_tracking() {
  const char* v = getenv("RR_VERIFY_WRITE_TRACKING");
  return v && strcmp(v, "1") == 0;
}

Status verify_unwritten(Task& t, const std::string& trace_dir, const MappingRecord& m,
                        const std::vector<std::pair<RemotePtr<>, size_t>>& unwritten, const BasePages& base) {
  auto reported = [&](RemotePtr<> a) {
    auto it = std::upper_bound(unwritten.begin(), unwritten.end(), a,
                               [](RemotePtr<> x, const std::pair<RemotePtr<>, size_t>& run) { return x < run.first; });
    if (it == unwritten.begin()) return false;
    --it;
    return a < it->first + it->second * kPageSize;
  };
  std::string problem;
  PageScanner plain(t, trace_dir);
  plain.scan(m, [&](RemotePtr<> addr, size_t n, PageKind kind, const uint8_t* bytes) {
    for (size_t p = 0; p < n && problem.empty(); ++p) {
      RemotePtr<> a = addr + p * kPageSize;
      if (!reported(a)) continue;
      const BasePages::Page* in_base = base.find(a);
      bool same;
      if (kind == PageKind::Data) {
        XXH128_hash_t h = XXH3_128bits(bytes + p * kPageSize, kPageSize);
        same = in_base && in_base->hash_low == h.low64 && in_base->hash_high == h.high64;
      } else {
        // Zeros or the file's bytes: what the base means by storing nothing.
        same = !in_base && kind != PageKind::Unreadable;
      }
      if (!same) {
        char at[32];
        snprintf(at, sizeof(at), "0x%" PRIx64, a.as_int());
        problem = std::string("write tracking missed a write: page ") + at + " of process " + std::to_string(t.tid()) +
                  " (" + (m.name.empty() ? "anonymous" : m.name) + ") was reported unwritten since the checkpoint at event " +
                  std::to_string(base.event()) + " but differs from it";
      }
    }
  });
  if (!problem.empty()) return make_error(ErrorKind::Internal, problem);
  return {};
}

}  // namespace rr
