// PlanStore: the progress counter's plans kept on disk between recordings.
// Planning the rewrite of a program's code (core/branch_rewriter.h) takes
// most of what the counter costs a short program: python3's executable,
// libc and the loader are about 0.3 s of the recorder's CPU at every
// `rr record python3 ...`, where the program itself runs in 20 ms. A plan is
// a function of the code's bytes, where they are, which of them are code,
// and of the planner; with ASLR off the same program maps the same code at
// the same place in every recording, so a plan made once serves them all.
//
// One file per plan, named by a 128-bit XXH3 of everything the plan depends
// on (the key): the recorder's own build (its executable's identity), the
// code's address, its function ranges, whether nops are padding, and the
// code bytes. The file repeats the key and sums its contents; a file that
// does not check is not used (and the plan is made again and written over
// it). Whatever is read, the plan goes into the trace as it is, so replay
// applies what the recording ran: a store can make a recording faster or
// slower, never different from one made without it.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/branch_rewriter.h"
#include "util/cache_dir.h"

namespace rr {

struct PlanKey {
  uint64_t low = 0, high = 0;
  bool operator==(const PlanKey&) const = default;
  std::string hex() const;  // 32 hex digits: the file's name
};

// The key of the plan of `code` at `code_addr` with these `functions` and
// `nops_are_padding` (PlanCache::plan's arguments), made by this build.
PlanKey plan_key(const std::string& code, uint64_t code_addr, const std::vector<AddrRange>& functions,
                 bool nops_are_padding);
// The same for the code of a settled file (one whose identity, `file`
// from code_facts_key, the store may trust: see settled_file) mapped so
// that its .text, `code_size` bytes, is at `code_addr`: a fresh mapping's
// code is the file's bytes there, so the key needs none of them.
PlanKey plan_key_of_file(const PlanKey& file, uint64_t code_addr, uint64_t code_size,
                         const std::vector<AddrRange>& functions, bool nops_are_padding);

// A plan as the store's file holds it (after the header), and back; nullopt
// for bytes that are not one.
std::string serialize_plan(const RewritePlan& plan);
std::optional<RewritePlan> parse_plan(std::string_view bytes, std::shared_ptr<const void> keep = nullptr);

// The key of the plan made from the one under `near` by moving its stubs to
// `stub_base` (relocate_plan): the store keeps placed plans too, so that a
// recording that finds one reads neither the plan it was moved from nor
// moves it again, and a trace links the store's file (trace/trace_files.h)
// instead of writing the plan.
PlanKey placed_plan_key(const PlanKey& near, uint64_t stub_base);

// A whole plan file (a header with the magic, `key`, the payload's size and
// sum, then `payload`, a serialize_plan), as the store writes it; a trace's
// plan files have the same layout. parse_plan_file checks the header and
// the sum and reads the plan back (nullopt, with `why`, for a file that is
// not one); `key` is set to the file's.
std::string plan_file_bytes(const PlanKey& key, const std::string& payload);
// With `keep`, the plan's stubs and patches are views of `bytes`, which
// `keep` keeps alive (a mapped file); without, copies.
std::optional<RewritePlan> parse_plan_file(std::string_view bytes, PlanKey* key, std::string* why,
                                           std::shared_ptr<const void> keep = nullptr);

// What the recorder reads of an ELF file of code at every exec and mmap
// that maps it: its .text section, the ranges of its functions (in the
// file's layout, core/elf_code.h), whether Go made it, and the file offsets
// of the second opcode byte (0xc7) of its rdrand and rdseed instructions
// (core/random_insns.h; sorted). Decoding python3's 2.75 MB of .text for
// the last, at every recording, was 3.4% of the recorder's samples; the
// store keeps them by the file's identity.
struct CodeFacts {
  TextSection text;
  std::vector<AddrRange> functions;
  bool go = false;
  std::vector<uint64_t> random_sites;
  // Not kept in the store: the file's identity key (code_facts_key, its
  // build id included) when PlanCache::code_file found the file settled
  // and with a build id, which then also names the plans of its code
  // (plan_key_of_file) without the code being read.
  std::optional<PlanKey> settled;
};
std::string serialize_code_facts(const CodeFacts& facts);
std::optional<CodeFacts> parse_code_facts(std::string_view bytes);

// Whether what is derived from the bytes of the file open at `fd`, whose
// identity (device, inode, size, mtime, ctime) is `st`, may be kept by that
// identity: a write moves the mtime or the ctime, and userspace cannot set a
// ctime, so a file whose identity is unchanged has the same bytes, provided
// - its times are at least `seconds` old: a second write within a time
//   stamp's granularity would keep them;
// - none of its pages in the page cache is dirty or under writeback
//   (cachestat): a write through a shared mapping moves the mtime only when
//   it dirties a clean page, so a file written that way keeps its times
//   while its dirty pages change. Where the kernel has no cachestat, no file
//   is.
// A caller checks this before it reads the file and that the identity did
// not move by the end of the read.
bool settled_file(int fd, const struct stat& st, int64_t seconds);
// Whether two stats are of the same file identity.
bool same_identity(const struct stat& a, const struct stat& b);
// The key of the code facts of the file whose identity is `st`, made by
// this build.
// `build_id` (elf_build_id), where the file has one, is part of the key: an
// identity the kernel reuses (a read-only image's fixed times, device and
// inode numbers) does not name another file's facts or plans.
PlanKey code_facts_key(const struct stat& st, const std::string& build_id = "");

// A file of the store holding a plan, as a trace lists it.
struct StoredPlanFile {
  std::string path;   // where it is
  std::string name;   // its name, the key's hex digits
  uint64_t size = 0;  // its size in bytes
  uint64_t sum = 0;   // the XXH3-64 of its bytes (a trace's sums line)
};

class PlanStore {
 public:
  // The store in `dir` (made when first written to), holding at most
  // `max_bytes` of plans in at most `max_files` files; an empty `dir`
  // keeps nothing.
  explicit PlanStore(std::string dir, uint64_t max_bytes = kMaxBytes, size_t max_files = kMaxFiles)
      : dir_(std::move(dir)), max_bytes_(max_bytes), max_files_(max_files) {}

  // Where recordings keep their plans: $RR_PLAN_CACHE when it is set (empty
  // or "off": nowhere), else $XDG_CACHE_HOME/rr/plans, else
  // $HOME/.cache/rr/plans; empty when none of them is set.
  static std::string default_dir();

  // The plan stored under `key`, if a file that checks holds it (its time
  // is set to now: trimming removes the plans least recently used), and in
  // `file` (when given) the file it was read from.
  std::optional<RewritePlan> load(const PlanKey& key, StoredPlanFile* file = nullptr) const;
  // The size of the stubs of the plan stored under `key`, read from the
  // start of its file only (not checked against its sum: a caller uses it
  // to find where the stubs go, and checks the placed plan it then loads).
  std::optional<uint64_t> stub_bytes(const PlanKey& key) const;
  // Writes `plan` under `key` (a temporary file renamed into place, so
  // recordings that run at once never see half a file), then removes the
  // least recently used files beyond its count of files or its bytes (the
  // file just written stays). A store that cannot be
  // written is logged (RR_LOG) and otherwise ignored: the plan was made.
  // The file written, if it was.
  std::optional<StoredPlanFile> store(const PlanKey& key, const RewritePlan& plan) const;
  // The code facts stored under `key` (a file of their own layout beside
  // the plans, trimmed with them), if a file that checks holds them; and
  // writing them, as store() writes a plan.
  std::optional<CodeFacts> load_facts(const PlanKey& key) const;
  void store_facts(const PlanKey& key, const CodeFacts& facts) const;

  const std::string& dir() const { return dir_; }

  // Each file of code a recording meets leaves up to three files here (its
  // code facts, its plan, the plan placed where its stubs went): python3's
  // start leaves 18, and a python program that imports a few packages
  // maps a hundred extension modules. 512 files (the count before) was a
  // few such programs: a store that full planned again at nearly every
  // recording of them (python3's start took 0.6 s instead of 0.06 s after
  // a test suite's run). The bytes' cap below decides for large plans.
  static constexpr size_t kMaxFiles = 4096;
  // A plan is about 0.3 bytes per byte of code (gcc's cc1, 30 MB of .text,
  // has a 30 MB plan with its code's copy): a few large programs' worth.
  // Every rebuilt rr plans anew (its build is in the key), so without a cap
  // in bytes a developer's store grew to 464 MB.
  static constexpr uint64_t kMaxBytes = 256ull << 20;

 private:
  // Writes `bytes` as the file of `key`, then trims; the path, or nullopt
  // (logged) when it could not be written.
  std::optional<std::string> write(const PlanKey& key, const std::string& bytes) const;
  // Removes the least recently used files but `keep` beyond the limits.
  // The folder is read whole (a stat per file) at this store's first write
  // and then only when the files it wrote since may take it beyond them:
  // at 4096 files a read at every write was some 6 ms, and a first
  // recording of a program with a hundred libraries writes 300 files.
  void trim(const std::string& keep, uint64_t written) const;
  std::string dir_;
  uint64_t max_bytes_;
  size_t max_files_;
  mutable std::optional<CacheTotals> known_;  // what the folder held at the last read, plus what was written since
};

}  // namespace rr
