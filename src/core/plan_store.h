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

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/branch_rewriter.h"

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

// A plan as the store's file holds it (after the header), and back; nullopt
// for bytes that are not one.
std::string serialize_plan(const RewritePlan& plan);
std::optional<RewritePlan> parse_plan(std::string_view bytes);

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
std::optional<RewritePlan> parse_plan_file(const std::string& bytes, PlanKey* key, std::string* why);

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
  // `max_bytes` of plans; an empty `dir` keeps nothing.
  explicit PlanStore(std::string dir, uint64_t max_bytes = kMaxBytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {}

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
  // least recently used files beyond kMaxFiles or beyond its bytes (the
  // file just written stays). A store that cannot be
  // written is logged (RR_LOG) and otherwise ignored: the plan was made.
  // The file written, if it was.
  std::optional<StoredPlanFile> store(const PlanKey& key, const RewritePlan& plan) const;

  const std::string& dir() const { return dir_; }

  // python3's executable, libc and the loader take about 3 MB of plans;
  // this many files are a few hundred programs' worth.
  static constexpr size_t kMaxFiles = 512;
  // A plan is about 0.3 bytes per byte of code (gcc's cc1, 30 MB of .text,
  // has a 30 MB plan with its code's copy): a few large programs' worth.
  // Every rebuilt rr plans anew (its build is in the key), so without a cap
  // in bytes a developer's store grew to 464 MB.
  static constexpr uint64_t kMaxBytes = 256ull << 20;

 private:
  // Removes the least recently used files but `keep` beyond the limits.
  void trim(const std::string& keep) const;
  std::string dir_;
  uint64_t max_bytes_;
};

}  // namespace rr
