#include "core/page_scan.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "core/task.h"
#include "util/fatal.h"
#include "util/io.h"

namespace rr {

namespace {

constexpr uint64_t kPagemapPresent = 1ull << 63, kPagemapSwapped = 1ull << 62;
constexpr size_t kPagemapEntries = 64 * 1024;  // pagemap entries read with one call (512 KiB, 256 MiB of memory)

// The PAGEMAP_SCAN ioctl of /proc/PID/pagemap (Linux 6.7 and later). The
// C library's kernel headers on older distributions do not declare it, so
// its argument is declared here; the layout and the numbers are fixed by
// the kernel's user ABI.
struct ScanRegion {
  uint64_t start, end;   // [start, end) of pages with the same categories
  uint64_t categories;   // the page categories (below) asked for in return_mask
};
struct ScanArg {
  uint64_t size;                 // sizeof(ScanArg)
  uint64_t flags;                // 0: report only (no write protection)
  uint64_t start, end;           // the range to walk
  uint64_t walk_end;             // out: where the walk stopped (== end when it went through)
  uint64_t vec, vec_len;         // the ScanRegion array to fill, and its length
  uint64_t max_pages;            // 0: no limit
  uint64_t category_inverted;    // categories that match when absent
  uint64_t category_mask;        // a page must match all of these
  uint64_t category_anyof_mask;  // and at least one of these
  uint64_t return_mask;          // categories reported in ScanRegion.categories
};
static_assert(sizeof(ScanArg) == 96);
constexpr uint64_t kPageIsWritten = 1u << 1, kPageIsFile = 1u << 2;
constexpr uint64_t kPageIsPresent = 1u << 3, kPageIsSwapped = 1u << 4, kPageIsPfnZero = 1u << 5;
// Write-protect the pages reported written (they are reported as they were
// before); fail with EPERM, protecting nothing, where the range is not
// registered for asynchronous write protection.
constexpr uint64_t kScanWpMatching = 1u << 0, kScanCheckWpAsync = 1u << 1;
constexpr unsigned long kPagemapScan = _IOWR('f', 16, ScanArg);

void add_range(std::vector<PopulatedRange>& out, uint64_t start, uint64_t end, bool zero_page, bool unwritten = false) {
  if (!out.empty() && out.back().end.as_int() == start && out.back().zero_page == zero_page &&
      out.back().unwritten == unwritten) {
    out.back().end = RemotePtr<>(end);
    return;
  }
  out.push_back(PopulatedRange{RemotePtr<>(start), RemotePtr<>(end), zero_page, unwritten});
}

}  // namespace

PageScanner::PageScanner(Task& t, std::string trace_dir)
    : t_(t),
      trace_dir_(std::move(trace_dir)),
      pagemap_(::open(("/proc/" + std::to_string(t.tid()) + "/pagemap").c_str(), O_RDONLY | O_CLOEXEC)),
      buf_(new uint8_t[kScanChunkPages * kPageSize]),
      file_buf_(new uint8_t[kScanChunkPages * kPageSize]) {}

bool PageScanner::populated(RemotePtr<> start, RemotePtr<> end, std::vector<PopulatedRange>& out) {
  out.clear();
  if (!pagemap_.is_open()) return false;
  if (ioctl_works_) {
    if (populated_by_ioctl(start, end, out)) return true;
    out.clear();
  }
  if (populated_by_pagemap(start, end, out)) return true;
  out.clear();
  return false;
}

bool PageScanner::populated_by_ioctl(RemotePtr<> start, RemotePtr<> end, std::vector<PopulatedRange>& out, bool protect) {
  std::array<ScanRegion, 256> regions;
  uint64_t at = start.as_int();
  while (at < end.as_int()) {
    ScanArg arg = {};
    arg.size = sizeof(arg);
    arg.start = at;
    arg.end = end.as_int();
    arg.vec = reinterpret_cast<uint64_t>(regions.data());
    arg.vec_len = regions.size();
    // Holes never match, so protection never reaches them: a page
    // populated after this scan is reported written.
    arg.category_anyof_mask = kPageIsPresent | kPageIsSwapped;
    arg.return_mask = kPageIsPresent | kPageIsSwapped | kPageIsPfnZero;
    if (protect) {
      arg.flags = kScanWpMatching | kScanCheckWpAsync;
      arg.return_mask |= kPageIsWritten | kPageIsFile;
    }
    int n = ioctl(pagemap_.get(), kPagemapScan, &arg);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && protect) return false;
    if (n < 0) {
      // An older kernel (no such ioctl) is told by the first call; any
      // other failure leaves the choice to the next mapping.
      if (errno == ENOTTY || errno == EINVAL || errno == EOPNOTSUPP) ioctl_works_ = false;
      return false;
    }
    for (int i = 0; i < n; ++i) {
      uint64_t c = regions[i].categories;
      // Only a page in memory that is the process's own copy keeps what it
      // held when protected. A copy the process had made of a file's page
      // and then dropped (MADV_DONTNEED) leaves a marker that keeps the
      // protection: the kernel reports it swapped and unwritten, and once
      // read back it is the file's page (PAGE_IS_FILE), still protected.
      // Swapped pages are read like the rest.
      bool unwritten = protect && (c & kPageIsPresent) && !(c & (kPageIsWritten | kPageIsFile | kPageIsPfnZero));
      add_range(out, regions[i].start, regions[i].end, (c & kPageIsPfnZero) != 0, unwritten);
    }
    // With the array full the walk stops early, and goes on from there.
    if (arg.walk_end <= at || arg.walk_end > end.as_int()) return false;
    at = arg.walk_end;
  }
  return true;
}

bool PageScanner::populated_by_pagemap(RemotePtr<> start, RemotePtr<> end, std::vector<PopulatedRange>& out) {
  pm_.resize(kPagemapEntries);
  for (uint64_t a = start.as_int(); a < end.as_int();) {
    size_t n = std::min<uint64_t>(kPagemapEntries, (end.as_int() - a) / kPageSize);
    if (pread(pagemap_.get(), pm_.data(), n * 8, (a / kPageSize) * 8) != (ssize_t)(n * 8)) return false;
    for (size_t p = 0; p < n; ++p)
      if (pm_[p] & (kPagemapPresent | kPagemapSwapped)) add_range(out, a + p * kPageSize, a + (p + 1) * kPageSize, false);
    a += n * kPageSize;
  }
  return true;
}

void PageScanner::scan(const MappingRecord& m, const Visit& visit, bool untouched_bytes) {
  bool special = m.backing == Backing::Special;
  bool file_backed = m.backing == Backing::File;
  ScopedFd file;
  uint64_t file_size = 0;
  if (file_backed) {
    file = ScopedFd(::open((m.file[0] == '/' ? m.file : trace_dir_ + "/" + m.file).c_str(), O_RDONLY | O_CLOEXEC));
    if (!file.is_open()) fatal_errno("cannot open the trace copy " + m.file);
    struct stat st;
    if (fstat(file.get(), &st) == 0) file_size = st.st_size;
  }
  // Pages from `past_file` on start at or after the file's end: no page
  // there can be touched (SIGBUS), and none can be read.
  RemotePtr<> past_file = m.end;
  if (file_backed) {
    uint64_t in_file = file_size > m.offset ? page_ceil(file_size - m.offset) : 0;
    past_file = in_file < m.end - m.start ? m.start + in_file : m.end;
  }
  // The file's bytes for pages [a, a + pages): how many it has (short or none past its end).
  auto read_file_bytes = [&](RemotePtr<> a, size_t pages) -> size_t {
    uint64_t off = m.offset + (a - m.start);
    if (off >= file_size) return 0;
    ssize_t got = pread(file.get(), file_buf_.get(), std::min<uint64_t>(pages * kPageSize, file_size - off), off);
    return got > 0 ? (size_t)got : 0;
  };

  // The file's bytes of pages [a, b), in chunks.
  auto file_pages = [&](RemotePtr<> a, RemotePtr<> b) {
    for (RemotePtr<> c = a; c < b; c += kScanChunkPages * kPageSize) {
      size_t pages = std::min<uint64_t>(kScanChunkPages, (b - c) / kPageSize);
      size_t have = read_file_bytes(c, pages);
      memset(file_buf_.get() + have, 0, pages * kPageSize - have);
      visit(c, pages, PageKind::Untouched, file_buf_.get());
    }
  };
  // Pages never touched: one run, or, when asked, the file's bytes, where
  // each hole of the file is one run without bytes (zeros), not read.
  auto untouched = [&](RemotePtr<> a, RemotePtr<> b) {
    if (a >= b) return;
    RemotePtr<> mid = file_backed ? std::clamp(past_file, a, b) : b;
    if (a < mid && !(file_backed && untouched_bytes)) visit(a, (mid - a) / kPageSize, PageKind::Untouched, nullptr);
    if (a < mid && file_backed && untouched_bytes) {
      uint64_t from = m.offset + (a - m.start), to = m.offset + (mid - m.start);
      RemotePtr<> at = a;  // pages before `at` are handed over
      for (const DataExtent& x : data_extents(file.get(), std::min(file_size, to), from)) {
        // The pages the extent has bytes in, by address.
        RemotePtr<> first = std::max(at, m.start + ((x.offset & ~(kPageSize - 1)) - m.offset));
        RemotePtr<> end = std::min(mid, m.start + (page_ceil(x.offset + x.length) - m.offset));
        if (first >= end) continue;
        if (at < first) visit(at, (first - at) / kPageSize, PageKind::Untouched, nullptr);
        file_pages(first, end);
        at = end;
      }
      if (at < mid) visit(at, (mid - at) / kPageSize, PageKind::Untouched, nullptr);
    }
    if (mid < b) visit(mid, (b - mid) / kPageSize, PageKind::Unreadable, nullptr);
  };

  // Populated pages: read in chunks, each page sorted, runs of one kind
  // handed over together.
  auto populated_pages = [&](RemotePtr<> a, RemotePtr<> b) {
    for (RemotePtr<> c = a; c < b; c += kScanChunkPages * kPageSize) {
      size_t pages = std::min<uint64_t>(kScanChunkPages, (b - c) / kPageSize);
      size_t file_have = file_backed ? read_file_bytes(c, pages) : 0;
      bool whole = t_.read_mem(c, buf_.get(), pages * kPageSize);
      auto kind_of = [&](size_t p) {
        uint8_t* page = buf_.get() + p * kPageSize;
        if (!whole && !t_.read_mem(c + p * kPageSize, page, kPageSize)) return PageKind::Unreadable;
        if (special) return PageKind::Data;
        if (file_backed)
          return (p + 1) * kPageSize <= file_have && memcmp(page, file_buf_.get() + p * kPageSize, kPageSize) == 0
                     ? PageKind::AsFile
                     : PageKind::Data;
        return is_zero_page(page) ? PageKind::Zero : PageKind::Data;
      };
      size_t run = 0;
      PageKind run_kind = kind_of(0);
      for (size_t p = 1; p <= pages; ++p) {
        PageKind k = p < pages ? kind_of(p) : run_kind;
        if (p < pages && k == run_kind) continue;
        bool with_bytes = run_kind == PageKind::Data || run_kind == PageKind::AsFile;
        visit(c + run * kPageSize, p - run, run_kind, with_bytes ? buf_.get() + run * kPageSize : nullptr);
        run = p;
        run_kind = k;
      }
    }
  };

  std::vector<PopulatedRange> ranges;
  // A shared file mapping shows the file: it is read there, holes skipped,
  // and not through the tracee, where a read faults in each page of shared
  // memory. Another shared mapping's pages may be written through another
  // mapping of them without being present in this one: read them all.
  if (file_backed && m.shared)
    ranges.clear();
  else if (!special && !m.shared && tracking_ && pagemap_.is_open() && populated_by_ioctl(m.start, m.end, ranges, true))
    ;  // registered with the write tracker: protected again, unwritten pages known
  else if (special || m.shared || !populated(m.start, m.end, ranges))
    ranges.assign(1, PopulatedRange{m.start, m.end, false});
  RemotePtr<> at = m.start;
  for (const PopulatedRange& r : ranges) {
    untouched(at, r.start);
    // The kernel's zero page stands only in anonymous memory.
    if (r.zero_page && !file_backed)
      visit(r.start, (r.end - r.start) / kPageSize, PageKind::Zero, nullptr);
    else if (r.unwritten && trust_)
      visit(r.start, (r.end - r.start) / kPageSize, PageKind::Unwritten, nullptr);
    else
      populated_pages(r.start, r.end);
    at = r.end;
  }
  untouched(at, m.end);
}

}  // namespace rr
