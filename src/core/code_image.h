// Code images: the pages of a rewritten mapping of code, kept as a file that
// the tracee maps in place of the original (docs/progress-counter.md, "Code
// images").
//
// The progress counter patches nearly every page of a program's code
// (python3's code has 85,000 patches; gcc's cc1 is 30 MB of text). Written
// through /proc/PID/mem, every patched page is copied for the process that
// maps it (a private copy made on write), at every exec: the compiles of
// `make` copied 450 MB this way, half of the recorder's CPU. An image holds
// the mapping's bytes with the plan's patches applied; mapping it private
// over the original gives the process the same bytes from pages the page
// cache shares between processes, recordings and replays.
//
// An image is made only for the code of a settled file (PlanCache::
// code_file: its identity trusted, with a build id), whose fresh mapping
// holds the file's bytes, and only with a plan from the plan store (whose
// key names the patches). Its file, in the store's directory `images/`, is
// named by a key of both and of where the mapping lies:
//   [the file's bytes, the mapping's part patched (zeros past the file's
//    end up to the mapping's)][trailer: magic, key, the mapping's offset
//    and length, the size and XXH3-64 of the bytes before the trailer]
// so that it is mapped at the original's file offset and the offsets of
// the original hold (the rdrand sites), and a tool that opens the file
// /proc/PID/maps names finds the same ELF file with its code rewritten. A
// file that does not check is made again; images are trimmed by size,
// least recently used first, as plans are. A trace links the image it used
// (images/<key>), listed in its sums; replay maps that, and a replay or
// recording that cannot map it writes the patches instead: the same bytes
// either way.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "core/address_space.h"
#include "core/branch_rewriter.h"
#include "core/plan_store.h"
#include "util/result.h"

namespace rr {

struct CodeImage {
  std::string path;  // where the tracee opens it (the store's file, or the trace's link)
  std::string name;  // its key's 32 hex digits
  uint64_t start = 0, length = 0, offset = 0;  // the mapping it replaces, and its file offset
  int prot = 0;
  // The XXH3-64 and size of the whole file (a trace's sums line), known to
  // the store that checked or made it; 0 when not known.
  uint64_t file_sum = 0, file_size = 0;
};

class CodeImageStore {
 public:
  // The images of the plan store in `plan_dir` (empty: none are made).
  explicit CodeImageStore(std::string plan_dir = {}, uint64_t max_bytes = kMaxBytes);

  const std::string& dir() const { return dir_; }
  // The name of the image at `shown`, a path as /proc/PID/maps shows it
  // (" (deleted)" after it when the file was replaced or trimmed since), if
  // it is in this store's folder.
  std::optional<std::string> image_named(const std::string& shown) const;

  // The image of `m`, a fresh private mapping of the file at `file_path`
  // (a path the supervisor can open), whose identity is the settled key
  // `settled`, with `plan`'s patches; `plan_name` is the stored plan's name
  // (its key). Made if missing or if the stored one does not check; nullopt
  // (logged) when it cannot be made: the file is not the one the key names,
  // the mapping reaches pages past its end, a patch lies outside it, or the
  // store cannot be written.
  std::optional<CodeImage> image_for(const std::string& file_path, const PlanKey& settled, const MapEntry& m,
                                     const RewritePlan& plan, const std::string& plan_name);

  // The image of `plan`'s stubs (at its stub_base, the rest of the last
  // page zeros), which install_rewrite maps instead of an anonymous area it
  // writes them into; `plan_name` as above.
  std::optional<CodeImage> stubs_image_for(const RewritePlan& plan, const std::string& plan_name);

  // Images are up to the size of the code they hold (cc1's is 30 MB): a
  // few large programs' worth.
  static constexpr uint64_t kMaxBytes = 512ull << 20;

 private:
  // The image under `key` for `image`'s mapping, checked if it is in the
  // store, else made from the bytes `fill` gives (the mapping's length).
  std::optional<CodeImage> make(const PlanKey& key, CodeImage image, const std::string& what,
                                const std::function<Status(std::string&)>& fill);
  std::string dir_;
  bool resolved_ = false;  // dir_ made and resolved (realpath)
  uint64_t max_bytes_;
  // Names checked or made by this store: the whole file's sum and size
  // when it is good.
  std::map<std::string, std::optional<std::pair<uint64_t, uint64_t>>> checked_;
};

// The keys of the images (exposed for tests).
PlanKey code_image_key(const PlanKey& settled, const std::string& plan_name, const MapEntry& m);
PlanKey stubs_image_key(const std::string& plan_name, const RewritePlan& plan);

// Whether the image file at `path` checks: its trailer names `name`'s key
// and the mapping's offset and length, within the file; and `with_sum`,
// its bytes match their sum (a trace's image is checked against the
// trace's sums instead).
bool code_image_checks(const std::string& path, const std::string& name, uint64_t offset, uint64_t length,
                       bool with_sum);
// The same with the sum, which also gives the XXH3-64 and size of the
// whole file in `image` (read once: the trace's sums line needs it).
bool code_image_checks(CodeImage& image);

}  // namespace rr
