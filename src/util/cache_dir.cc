#include "util/cache_dir.h"

#include <dirent.h>

#include <algorithm>
#include <vector>

namespace rr {

CacheTotals trim_cache_dir(const std::string& dir, const std::string& keep, size_t max_files, uint64_t max_bytes,
                    const std::function<CacheEntryUse(const std::string& name, const struct stat& st)>& describe,
                    const std::function<void(const std::string& name)>& remove) {
  DIR* d = opendir(dir.c_str());
  if (!d) return {};
  struct Entry {
    CacheEntryUse use;
    std::string name;
  };
  std::vector<Entry> entries;
  uint64_t total = 0;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.size() != 32 || name.find_first_not_of("0123456789abcdef") != std::string::npos) continue;
    struct stat st;
    if (stat((dir + "/" + name).c_str(), &st) != 0) continue;
    entries.push_back({describe(name, st), name});
    total += entries.back().use.bytes;
  }
  closedir(d);
  if (entries.size() <= max_files && total <= max_bytes) return {entries.size(), total};
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.use.used_ns < b.use.used_ns; });
  size_t left = entries.size();
  for (size_t i = 0; i < entries.size() && (left > max_files || total > max_bytes); ++i) {
    if (entries[i].name == keep) continue;
    remove(entries[i].name);
    --left;
    total -= entries[i].use.bytes;
  }
  return {left, total};
}

}  // namespace rr
