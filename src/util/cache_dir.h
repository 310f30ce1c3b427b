// A cache folder kept within a number of entries and of bytes (the plan
// store's, the file cache's): its entries are the files named by 32 hex
// digits, and the least recently used go first.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <string>

namespace rr {

struct CacheEntryUse {
  int64_t used_ns;  // when the entry was last used
  uint64_t bytes;   // what it takes
};

// What a cache's folder holds: its entries and the bytes they take.
struct CacheTotals {
  size_t files = 0;
  uint64_t bytes = 0;
};

// Removes entries of `dir`, least recently used first, until at most
// `max_files` are left and they take at most `max_bytes`. `describe` says
// of an entry (its name and stat) when it was used and what it takes;
// `remove` removes it (with anything kept beside it). `keep` is never
// removed. Returns what is left.
CacheTotals trim_cache_dir(const std::string& dir, const std::string& keep, size_t max_files, uint64_t max_bytes,
                    const std::function<CacheEntryUse(const std::string& name, const struct stat& st)>& describe,
                    const std::function<void(const std::string& name)>& remove);

}  // namespace rr
