// BasePages: what an earlier checkpoint (the base of an incremental one)
// holds for one process, page by page. With write tracking (WriteTracker),
// a page the kernel reports unwritten since that checkpoint still holds
// what the base holds at its address: the new checkpoint refers to the
// base's copy, or, where the base stores none, leaves it to the zeros or
// file bytes the mapping gives, without reading the page.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/address_space.h"
#include "util/result.h"
#include "util/types.h"

namespace rr {

class CheckpointReader;
class Task;

class BasePages {
 public:
  struct Page {
    uint64_t addr;
    uint32_t block;   // as the base's reader counts blocks (CheckpointReader::block_of)
    uint32_t offset;  // in the block's raw data
    uint64_t hash_low, hash_high;  // the page's XXH3-128, from its block's pageHashes
  };
  // The pages `base` stores for process `tgid`.
  BasePages(const CheckpointReader& base, RecordedTid tgid);
  // Whether the base has the process at all: pages reported unwritten in a
  // process it lacks cannot be taken from it.
  bool has_process() const { return has_process_; }
  // The base's page at `addr`; nullptr where it stores none (zeros, or the
  // mapped file's bytes).
  const Page* find(RemotePtr<> addr) const;
  uint64_t event() const { return event_; }

 private:
  std::vector<Page> pages_;  // by address
  bool has_process_ = false;
  uint64_t event_ = 0;
};

// Whether RR_VERIFY_WRITE_TRACKING=1 asks every checkpoint written with
// write tracking to read the pages reported unwritten anyway and check them.
bool verify_write_tracking();

// Reads mapping `m` of the process `t` leads without tracking and checks
// that each page of `unwritten` (runs of pages the tracking reported
// unwritten: address and count) holds what `base` says. An Internal error
// names the first page that does not: the tracking missed a write.
Status verify_unwritten(Task& t, const std::string& trace_dir, const MappingRecord& m,
                        const std::vector<std::pair<RemotePtr<>, size_t>>& unwritten, const BasePages& base);

}  // namespace rr
