// A folder of the unit tests' own under /tmp, removed with everything in it
// when the object goes.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace rr {

class ScratchDir {
 public:
  // `prefix` names the test in the folder's name (/tmp/PREFIX-XXXXXX).
  explicit ScratchDir(const std::string& prefix) {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    path_ = mkdtemp(tmpl.data());
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  size_t files() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(path_)) ++n;
    return n;
  }

 private:
  std::string path_;
};

// A folder like ScratchDir's for helpers that hand out paths, not objects:
// removed when the test program ends (a fork's child that calls _exit
// leaves it to its parent).
inline std::string scratch_dir_until_exit(const std::string& prefix) {
  static std::vector<std::unique_ptr<ScratchDir>> dirs;
  dirs.push_back(std::make_unique<ScratchDir>(prefix));
  return dirs.back()->path();
}

}  // namespace rr
