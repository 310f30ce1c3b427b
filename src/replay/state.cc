#include "replay/state.h"

#include <cpuid.h>
#include <cinttypes>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <map>
#include <vector>
#include <xxhash.h>

#include "core/address_space.h"
#include "core/page_scan.h"
#include "replay/replay_session.h"
#include "util/io.h"
#include "util/scoped_fd.h"

namespace rr {

namespace {

bool m_name_in_trace(const MapEntry& e, const std::string& prefix) {
  return e.inode != 0 && e.name.rfind(prefix, 0) == 0;
}

// The regular files this process holds open, by device and inode, each as
// a path that opens it for reading. Replay's copies of the files it
// emulates and of System V segments are among them, and back the
// program's mappings of those: read through the file, such a mapping's
// holes are skipped, and nothing is faulted in (reading a page of shared
// memory through a mapping allocates it: a sparse file of 4 GiB cost 4 GiB).
std::map<std::pair<uint64_t, uint64_t>, std::string> own_files() {
  std::map<std::pair<uint64_t, uint64_t>, std::string> out;
  DIR* d = opendir("/proc/self/fd");
  if (!d) return out;
  while (dirent* ent = readdir(d)) {
    if (ent->d_name[0] == '.') continue;
    std::string path = std::string("/proc/self/fd/") + ent->d_name;
    struct stat st;
    if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    ScopedFd readable(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (readable.is_open()) out.emplace(std::make_pair((uint64_t)st.st_dev, (uint64_t)st.st_ino), path);
  }
  closedir(d);
  return out;
}

// How replay names a mapping: a trace file by its name in the trace, a
// file replay holds open (its copies of emulated files and System V
// segments) by that descriptor, the kernel's and rr's own by their kind.
MappingName replay_mapping_name(const MapEntry& e, const std::string& prefix,
                                const std::map<std::pair<uint64_t, uint64_t>, std::string>& own) {
  MappingName n{Backing::Anonymous, e.name, ""};
  if (is_anon_shared(e)) n.name = kAnonSharedMaps;  // a restore's memfd of it prints as the program's
  auto own_file = own.find({e.dev, e.inode});
  if (m_name_in_trace(e, prefix)) {
    n.backing = Backing::File;
    n.name = n.file = n.name.substr(prefix.size());
  } else if (is_special_mapping(e)) {
    n.backing = Backing::Special;
  } else if (e.inode != 0 && own_file != own.end()) {
    n.backing = Backing::File;
    n.file = own_file->second;
  } else if (e.inode != 0 && !(e.name.rfind("/dev/zero", 0) == 0 && !e.shared)) {
    // (A private mapping of /dev/zero is anonymous memory.)
    n.backing = Backing::Special;
  }
  return n;
}

}  // namespace

std::string describe_state(ReplaySession& s, bool json, pid_t only_pid) {
  StateView v;
  v.event = s.current_event();
  v.exited = s.exited();
  v.exit_code = s.exit_code();
  v.killed_by = s.killed_by();
  v.counters = s.counters();
  std::string prefix = s.trace_dir() + "/";
  std::map<std::pair<uint64_t, uint64_t>, std::string> own = own_files();
  MappingNamer namer = [&](const MapEntry& e) { return replay_mapping_name(e, prefix, own); };
  for (const auto& [tid, rt] : s.tasks()) {
    // Tasks on their way out (after exit or exit_group) are not part of it.
    if (!rt->task->alive() || rt->exiting || (only_pid && rt->tgid != RecordedTid{only_pid})) continue;
    auto [it, fresh] = v.procs.try_emplace(rt->tgid.value, StateProcess{rt->tgid.value, {}, {}, rt->fds.get()});
    // A vfork child between leaving its parent's memory and getting its new
    // image has neither registers nor mappings of its own yet.
    if (fresh && !rt->in_exec) it->second.maps = mapping_states(*rt->task, s.trace_dir(), namer);
    // A vfork parent waits inside the kernel (not stopped): no registers.
    if (rt->in_vfork || rt->in_exec)
      it->second.tasks.push_back({tid.value, Registers(), 0, rt->in_vfork ? "waiting in vfork" : "inside execve"});
    else
      it->second.tasks.push_back({tid.value, rt->task->regs(), fpu_hash(*rt->task), nullptr});
  }
  return format_state(v, json);
}


}  // namespace rr
