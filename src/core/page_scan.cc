#include "core/page_scan.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/task.h"
#include "util/fatal.h"

namespace rr {

namespace {
constexpr size_t kChunkPages = 1024;  // pages read with one call
constexpr uint64_t kPagemapPresent = 1ull << 63, kPagemapSwapped = 1ull << 62;
}  // namespace

PageScanner::PageScanner(Task& t, std::string trace_dir)
    : t_(t),
      trace_dir_(std::move(trace_dir)),
      pagemap_(::open(("/proc/" + std::to_string(t.tid()) + "/pagemap").c_str(), O_RDONLY | O_CLOEXEC)),
      buf_(kChunkPages * kPageSize),
      file_buf_(kChunkPages * kPageSize),
      zeros_(kPageSize, 0),
      pm_(kChunkPages) {}

void PageScanner::scan(const MappingRecord& m, const Visit& visit, bool untouched_bytes) {
  bool special = m.backing == Backing::Special;
  bool file_backed = m.backing == Backing::File;
  ScopedFd file;
  uint64_t file_size = 0;
  if (file_backed) {
    file = ScopedFd(::open((trace_dir_ + "/" + m.file).c_str(), O_RDONLY | O_CLOEXEC));
    if (!file.is_open()) fatal_errno("cannot open the trace copy " + m.file);
    struct stat st;
    if (fstat(file.get(), &st) == 0) file_size = st.st_size;
  }
  for (RemotePtr<> a = m.start; a < m.end; a += kChunkPages * kPageSize) {
    size_t pages = std::min<uint64_t>(kChunkPages, (m.end - a) / kPageSize);
    // A shared mapping's pages may be written through another mapping of
    // them without being present in this one: read them all.
    bool have_pagemap = !special && !m.shared && pagemap_.is_open() &&
                        pread(pagemap_.get(), pm_.data(), pages * 8, (a.as_int() / kPageSize) * 8) == (ssize_t)(pages * 8);
    auto touched = [&](size_t p) { return !have_pagemap || (pm_[p] & (kPagemapPresent | kPagemapSwapped)); };
    size_t present = 0;
    for (size_t p = 0; p < pages; ++p) present += touched(p) ? 1 : 0;
    // The file's bytes for this chunk (short or none past its end).
    uint64_t file_off = m.offset + (a - m.start);
    size_t file_have = 0;
    if (file_backed && file_off < file_size && (present > 0 || untouched_bytes)) {
      ssize_t got = pread(file.get(), file_buf_.data(), std::min<uint64_t>(pages * kPageSize, file_size - file_off), file_off);
      file_have = got > 0 ? (size_t)got : 0;
    }
    bool whole = present > 0 && t_.read_mem_fast(a, buf_.data(), pages * kPageSize);
    for (size_t p = 0; p < pages; ++p) {
      RemotePtr<> addr = a + p * kPageSize;
      uint8_t* page = buf_.data() + p * kPageSize;
      // Past the end of the file no page can be touched (SIGBUS).
      bool past_file = file_backed && file_off + p * kPageSize >= file_size;
      if (!touched(p)) {
        if (past_file) {
          visit(addr, PageKind::Unreadable, nullptr);
          continue;
        }
        const uint8_t* bytes = nullptr;
        if (untouched_bytes && file_backed) {
          // The file's bytes, then zeros after its end inside the page.
          size_t from = p * kPageSize;
          size_t n = file_have > from ? std::min(kPageSize, file_have - from) : 0;
          memcpy(page, file_buf_.data() + from, n);
          memset(page + n, 0, kPageSize - n);
          bytes = page;
        } else if (untouched_bytes) {
          bytes = zeros_.data();
        }
        visit(addr, PageKind::Untouched, bytes);
        continue;
      }
      if (!whole && !t_.read_mem(addr, page, kPageSize)) {
        visit(addr, PageKind::Unreadable, nullptr);
        continue;
      }
      if (special) {
        visit(addr, PageKind::Data, page);
      } else if (file_backed) {
        bool same = (p + 1) * kPageSize <= file_have && memcmp(page, file_buf_.data() + p * kPageSize, kPageSize) == 0;
        visit(addr, same ? PageKind::AsFile : PageKind::Data, page);
      } else {
        visit(addr, is_zero_page(page) ? PageKind::Zero : PageKind::Data, page);
      }
    }
  }
}

}  // namespace rr
