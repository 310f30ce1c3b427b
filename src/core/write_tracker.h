// WriteTracker: which pages of the replay's processes were written since the
// last checkpoint, as the kernel saw them, so that an incremental checkpoint
// reads and hashes only those instead of every populated page.
//
// At a checkpoint each process gets a userfaultfd in asynchronous
// write-protect mode (UFFD_FEATURE_WP_ASYNC), made inside the process by an
// injected syscall (a userfaultfd acts on the memory of the process that
// made it) and taken into rr with pidfd_getfd, the process's descriptor
// closed at once. rr registers the process's private mappings with it, and
// the checkpoint's page scan write-protects their populated pages
// (PageScanner::track_writes). Any write after that, by the program, by the
// kernel on its behalf (a syscall's output, a signal frame) or by rr
// (/proc/PID/mem, process_vm_writev), takes the page's protection off
// without stopping anyone; the next checkpoint's scan finds those pages
// (PAGEMAP_SCAN's PAGE_IS_WRITTEN) and protects them again in the same call.
//
// The tracking may say "written" too often, never too rarely: whatever it
// does not cover is scanned as before. A mapping made since the last
// checkpoint, moved by mremap, a fork child's memory and a new image after
// exec are not registered (the kernel drops the registration there), a
// shared mapping is never registered, and a page that was dropped and read
// back from its file is not the process's copy (see PageKind::Unwritten).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/address_space.h"
#include "util/scoped_fd.h"

namespace rr {

class Task;

class WriteTracker {
 public:
  // Whether write tracking is wanted: RR_WRITE_TRACKING=0 turns it off (an
  // incremental checkpoint then reads every populated page, as before).
  static bool wanted();

  // Registers the private, non-special mappings among `mappings` of the
  // process `leader` leads (stopped, able to run injected syscalls) for
  // write protection, with this process's userfaultfd (made at its first
  // checkpoint, or again when the old one belongs to an image it left). A
  // mapping the kernel refuses stays unregistered: scanned whole.
  void register_mappings(Task& leader, const std::vector<MappingRecord>& mappings);

  // Registers [start, start + len), a private mapping just made in the
  // process `leader` leads, when the process is tracked (nothing
  // otherwise; a refusal leaves it unregistered, scanned whole).
  void register_range(pid_t leader, RemotePtr<> start, uint64_t len);
  // Closes the userfaultfds of processes whose leader is not in `live`
  // (live tids): they ended.
  void forget_all_but(const std::set<pid_t>& live);

  // The point the protection dates from: a checkpoint file (path and info
  // checksum) whose page scan protected every registered page. Pages the
  // scans report unwritten hold what they held in that file; nothing
  // else may be taken from them.
  bool since(const std::string& path, uint64_t info_checksum) const {
    return since_ && since_->first == path && since_->second == info_checksum;
  }
  // Set once the checkpoint whose scan protected the pages is in place.
  void set_since(const std::string& path, uint64_t info_checksum) { since_.emplace(path, info_checksum); }
  // Cleared before a scan protects pages again: until its checkpoint is in
  // place, the protection dates from no file.
  void clear_since() { since_.reset(); }

  // How many processes have a userfaultfd of ours (for tests and logs).
  size_t processes() const { return fds_.size(); }

 private:
  // Makes a userfaultfd in the process `leader` leads and takes it;
  // an invalid fd when the kernel refuses.
  ScopedFd make_fd(Task& leader);
  // Registers one mapping; the errno of a refusal, or 0.
  int register_one(int fd, const MappingRecord& m);

  std::map<pid_t, ScopedFd> fds_;  // by the leader's live tid
  bool unsupported_ = false;       // the kernel has no asynchronous write protection
  std::optional<std::pair<std::string, uint64_t>> since_;
};

}  // namespace rr
