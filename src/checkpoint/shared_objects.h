// Shared memory in persistent checkpoints: anonymous MAP_SHARED memory (a
// fork's parent and child both map it), and replay's own copies of System
// V segments and of the files it emulates (memfds the supervisor holds,
// mapped shared by the processes). Each is one object in the file
// (SharedObject: its size and pages by offset) that every mapping of it, in
// any process, names (ObjectMap). A restore makes each object once as a
// memfd, fills it and maps it shared wherever it was mapped, so that the
// processes share it again; the segments and emulated files become the
// restored session's copies.
//
// Anonymous shared memory comes back as a memfd named kAnonSharedName,
// which `rr state` names as the kernel names such memory ("/dev/zero
// (deleted)"). Its pages are read through the processes' mappings: a part
// of the object no process maps any more is not kept (only an mremap
// growing a mapping back over it could show it again).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.capnp.h"
#include "core/address_space.h"
#include "util/result.h"
#include "util/scoped_fd.h"

namespace rr {

class CheckpointReader;
class ReplaySession;
class Task;
struct CheckpointStats;

// Where a page the writer stored is: a block of the file and an offset in it.
struct StoredPage {
  uint32_t block, offset;
  bool in_base;  // a block of the base checkpoint (PageRef.inBase)
};
using StorePage = std::function<StoredPage(const uint8_t* page)>;

class SharedObjectWriter {
 public:
  // Knows the session's System V and emulated file copies from the start.
  explicit SharedObjectWriter(ReplaySession& session);
  // The object that mapping `e` of `t`'s process maps, found or added;
  // -1 when it maps none (private memory, a trace file, a kernel page).
  int object_of(Task& t, const MapEntry& e);
  // Writes every object: its identity, size and pages, each stored with
  // `store` (zero pages are not).
  Status write(const StorePage& store, CheckpointStats& stats, ckpt::CheckpointInfo::Builder info);
  size_t count() const { return objects_.size(); }
  // A private mapping of an object (an emulated file mapped MAP_PRIVATE)
  // shows the object where the process has not written: calls
  // visit(addr, bytes) for each page it has its own copy of (found in
  // /proc/PID/pagemap: present and not the file's page, or swapped out),
  // whatever its bytes, since a page the file still backs follows later
  // changes of the file and a copied one does not.
  Status private_pages(Task& t, const MappingRecord& m, const std::function<void(RemotePtr<>, const uint8_t*)>& visit);

 private:
  struct Source {  // a mapping anonymous shared memory can be read through
    Task* task;
    RemotePtr<> start, end;
    uint64_t offset;
  };
  struct Object {
    uint8_t kind = 0;
    uint64_t size = 0;
    std::string file;
    int64_t shm_id = 0;
    bool removed = false;
    int fd = -1;                  // the supervisor's copy (kinds 1 and 2)
    std::vector<Source> sources;  // kind 0
  };
  Status write_from_fd(Object& o, const StorePage& store, CheckpointStats& stats,
                       std::vector<std::pair<uint64_t, StoredPage>>& pages);
  void write_from_mappings(const Object& o, const StorePage& store, CheckpointStats& stats,
                           std::vector<std::pair<uint64_t, StoredPage>>& pages);

  ReplaySession& session_;
  std::vector<Object> objects_;
  std::map<std::pair<uint64_t, uint64_t>, int> by_file_;  // (device, inode) -> object
};

// The objects of a checkpoint file, made and filled, for a restore.
class SharedObjectRestorer {
 public:
  static Result<SharedObjectRestorer> load(const CheckpointReader& ck);
  // Maps process `proc`'s shared mappings (rebuilt anonymous by
  // restore_image) to their objects in `t`.
  Status map_into(Task& t, ckpt::ProcessState::Reader proc, const ProcessImage& img) const;
  // The segments and emulated files become `s`'s copies; the anonymous
  // objects live on in the processes that map them.
  void hand_over(ReplaySession& s);

 private:
  struct Object {
    uint8_t kind = 0;
    ScopedFd fd;
    std::string file;
    int64_t shm_id = 0;
    bool removed = false;
  };
  std::string path_;
  std::vector<Object> objects_;
};

}  // namespace rr
