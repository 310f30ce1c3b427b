// rr ls: the traces under the trace directory, newest last.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "cli/command.h"
#include "trace/trace_files.h"
#include "util/io.h"

namespace rr {

int cmd_ls(const Args& args) {
  if (!args.empty()) return fail("rr ls takes no arguments");
  std::string root = trace_root();
  DIR* d = opendir(root.c_str());
  if (!d) {
    if (errno == ENOENT) return fail("no traces: " + root + " does not exist (set _RR_TRACE_DIR to look elsewhere)");
    return fail("cannot list " + root + ": " + errno_text());
  }
  char latest[4096] = {};
  ssize_t n = readlink((root + "/latest-trace").c_str(), latest, sizeof(latest) - 1);
  std::string latest_name = n > 0 ? std::string(latest, n) : "";
  struct Entry {
    std::string name;
    time_t mtime;
  };
  std::vector<Entry> entries;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || name == "latest-trace") continue;
    std::string path = root + "/" + name;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || !path_exists(path + "/version")) continue;
    entries.push_back({name, st.st_mtime});
  }
  closedir(d);
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.mtime != b.mtime ? a.mtime < b.mtime : a.name < b.name;
  });
  printf("%-32s %-20s %s\n", "NAME", "RECORDED", "PROGRAM");
  for (const Entry& e : entries) {
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&e.mtime));
    std::string program = "?";
    auto r = TraceReader::open(root + "/" + e.name);
    if (r.ok()) {
      program = r.value()->header().getExePath().cStr();
      if (!r.value()->ends_finished()) program += "  (unfinished: interrupted or cut short)";
    } else {
      program = "(unreadable: " + r.error().message + ")";
    }
    printf("%-32s %-20s %s%s\n", e.name.c_str(), when, program.c_str(), e.name == latest_name ? "  (latest)" : "");
  }
  return 0;
}

}  // namespace rr
