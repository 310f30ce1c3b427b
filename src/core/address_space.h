// AddressSpace knowledge: reading a tracee's mappings, capturing its whole
// user-visible memory state as a ProcessImage, and rebuilding a captured
// image inside another (stopped) process. The same capture/rebuild pair
// serves execve in replay (replay never runs the program file: it rebuilds
// the recorded post-exec image) and persistent checkpoints.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "core/registers.h"
#include "util/result.h"
#include "util/types.h"

namespace rr {

class Task;
class RemoteSyscalls;

// One line of /proc/PID/maps.
struct MapEntry {
  RemotePtr<> start, end;
  int prot = 0;  // PROT_* bits
  bool shared = false;
  uint64_t offset = 0;
  uint64_t inode = 0;
  uint64_t dev = 0;  // the device of its file (makedev of the maps line's major:minor)
  std::string name;  // path or [pseudo] name, "" for anonymous
  // Made with MAP_NORESERVE (no swap space set aside: a sanitizer's shadow
  // reserves terabytes this way). Only /proc/PID/smaps says so (VmFlags
  // "nr"): read_smaps sets it, read_maps leaves it false.
  bool noreserve = false;
  // May be made writable (VmFlags "mw"): for a shared file mapping, its
  // descriptor was open for writing. Only read_smaps sets it.
  bool maywrite = false;
  bool dontfork = false;    // smaps VmFlags "dc": a fork does not copy it (MADV_DONTFORK)
  bool wipeonfork = false;  // "wf": a fork's child finds it zeroed (MADV_WIPEONFORK)
  bool userfaultfd = false; // "um", "uw", "ui": registered with a userfaultfd
  // The protection key its pages are tagged with (pkey_mprotect; 0, the
  // default, for all others). Only /proc/PID/smaps says it ("ProtectionKey").
  int pkey = 0;
};

std::vector<MapEntry> read_maps(pid_t pid);
// The same, false when the process's maps cannot be read (it is gone).
bool try_read_maps(pid_t pid, std::vector<MapEntry>& out);
// The mappings as /proc/PID/smaps lists them, with what only it says
// (noreserve). `text` is that file's contents.
std::vector<MapEntry> parse_smaps(const std::string& text);
// Whether the kernel enabled memory protection keys (CPUID.7.0:ECX.OSPKE);
// without them pkey_alloc fails (ENOSPC) and smaps shows no ProtectionKey.
bool os_has_pkeys();
// "r-xp" from prot and shared.
std::string prot_string(int prot, bool shared);

enum class Backing : uint8_t { Anonymous, File, Special };

// A mapping of a captured image.
struct MappingRecord {
  RemotePtr<> start, end;
  int prot = 0;
  bool shared = false;
  uint64_t offset = 0;
  std::string name;   // as /proc/PID/maps showed it
  Backing backing = Backing::Anonymous;
  std::string file;   // for File: path relative to the trace directory
  bool grows_down = false;
  bool noreserve = false;  // MAP_NORESERVE: rebuilt with it, or a large reservation is refused
  int pkey = 0;            // protection key of its pages (pkey_mprotect); checkpoints only
};

struct PageRecord {
  RemotePtr<> addr;
  std::string data;  // kPageSize bytes
};

// Where the kernel thinks the parts of the program are (prctl PR_SET_MM_MAP).
struct MmRecord {
  RemotePtr<> start_code, end_code, start_data, end_data;
  RemotePtr<> start_brk, brk, start_stack;
  RemotePtr<> arg_start, arg_end, env_start, env_end;
  std::string auxv;
  std::string exe_file;  // trace-relative
};

struct ProcessImage {
  std::vector<MappingRecord> mappings;
  std::vector<PageRecord> pages;  // pages whose contents the backing does not give
  MmRecord mm;
  Registers regs;
  std::string xsave;
  std::string exe_path;
  // Bit k: the program holds protection key k (pkey_alloc); checkpoints only.
  uint16_t pkeys = 0;
};

// The kernel's view of the layout of the stopped `task` (from /proc/PID/stat,
// /proc/PID/auxv and brk(0) run through `remote`); exe_file is left empty.
MmRecord capture_mm(Task& task, RemoteSyscalls& remote);
// The same with the program break `brk` as known otherwise: nothing runs
// in `task`, which need not be stopped.
MmRecord capture_mm(Task& task, uint64_t brk);

// What of a process's layout only calls inside it tell: its program break,
// whether it has a local descriptor table (modify_ldt), and which memory
// protection keys it holds (the kernel answers pkey_alloc for free ones
// only, so every free key is taken and given back).
struct LayoutByCalls {
  uint64_t brk = 0;
  bool has_ldt = false;
  uint16_t pkeys = 0;         // bit k: the program holds key k
  std::string pkeys_unknown;  // why the keys could not be told (empty: they were)
};
// Asked through calls `remote` runs in the stopped `task`; its PKRU, which
// pkey_alloc changes, is put back after.
LayoutByCalls probe_layout_by_calls(Task& task, RemoteSyscalls& remote);

// Anonymous MAP_SHARED memory shows as kAnonSharedMaps; a checkpoint
// restores it as a memfd named kAnonSharedName (checkpoint/shared_objects.h),
// which `rr state` names as the kernel does.
constexpr const char* kAnonSharedMaps = "/dev/zero (deleted)";
constexpr const char* kAnonSharedName = "rr-shared-anon";
// Whether a mapping is anonymous shared memory, as the program made it or a restore did.
bool is_anon_shared(const MapEntry& e);

// Whether a mapping is one of the kernel's own ([vdso], [vvar], ...) or the rr page.
bool is_special_mapping(const MapEntry& e);

// Whether the kPageSize bytes at `page` are all zero.
bool is_zero_page(const void* page);

// A mapping record with the fields /proc/PID/maps gives; backing is Special
// for special mappings and Anonymous otherwise (callers decide about files).
MappingRecord mapping_record(const MapEntry& e);

// Keeps a copy of the file `open_path` opens (a /proc/PID/map_files entry
// or /proc/PID/exe), which the program knew as `name_hint`; returns the
// copy's path relative to the trace directory. A recording's is its
// trace's files/ folder (trace/file_store.h).
using StoreFile = std::function<Result<std::string>(const std::string& open_path, const std::string& name_hint)>;

// Where to open the file behind mapping `e` of process `proc` ("/proc/PID")
// from. Its /proc/PID/map_files entry names the very file, even deleted or
// renamed, but only a process with CAP_SYS_ADMIN may open it; others (rr run
// by an ordinary user) open the path the mapping names when it still holds
// the same file (same inode).
std::string map_file_path(const std::string& proc, const MapEntry& e);

// Captures the image of the stopped `task`, keeping mapped files with
// `store_file`. `remote` runs the syscalls the capture needs (brk(0)).
ProcessImage capture_image(Task& task, RemoteSyscalls& remote, const StoreFile& store_file,
                           const std::string& trace_dir);

// Rebuilds `image` inside the stopped `task`: unmaps what it has (except the
// rr page and kernel pages), maps every recorded mapping at its address,
// fills contents, moves the vDSO, sets mm fields, then the registers and
// the XSAVE area.
void restore_image(Task& task, const ProcessImage& image, const std::string& trace_dir);

// A descriptor of `task`'s process for the file at `path` (a path the
// supervisor can open: a trace copy, or /proc/RR/fd/N of an emulated copy),
// open with `flags` (O_RDONLY or O_RDWR) and close-on-exec, for mapping it.
// The descriptor stays open, and the next call for the same file in the
// process finds it again: every mapping of one file then comes from one open
// file, as when the program mapped it through one descriptor, so adjacent
// mappings merge into one VMA as they did in the recording (the kernel merges
// only mappings of the same open file). A negative errno when it cannot open.
int64_t tracee_file_fd(Task& task, RemoteSyscalls& rs, const std::string& path, int flags);

// The descriptors of a stopped process, by the file each has open, read
// from /proc once. For a caller that opens or looks for many files while
// nothing else runs in the process (a rebuild of a whole layout): reading
// the descriptor directory for each file was most of a restore's layout
// time (python3: 57 files, about 60 descriptors, two stats of each).
class TraceeFds {
 public:
  explicit TraceeFds(pid_t tid);
  // As tracee_file_fd, through this index (kept up to date with its own opens).
  int64_t file_fd(RemoteSyscalls& rs, const std::string& path, int flags);

 private:
  struct Open {
    dev_t dev;
    ino_t ino;
    int fd;
    int mode;  // of the /proc link, which shows the access mode; -1 until read
  };
  std::string dir_;
  std::vector<Open> fds_;
};

}  // namespace rr
