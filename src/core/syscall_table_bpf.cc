// bpf(2) in the syscall table: which commands recording follows and what
// each writes. Replay emulates them all from the recorded outputs: the
// program only hands the descriptors it gets back to the kernel, whose
// answers are recorded. The attribute union is read only up to the size
// argument (later fields read as zero).
#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/syscall_custom.h"
#include "core/syscall_table.h"

namespace rr::syscall_custom {
namespace {

// What /proc/TID/fdinfo says about a BPF object descriptor: its kind
// (the anon inode's name) and, for a map, its type and sizes.
struct BpfObject {
  std::string kind;  // "bpf-map", "bpf-prog", "bpf_link", "btf", or other
  int map_type = -1;
  uint64_t key_size = 0, value_size = 0;
};

BpfObject bpf_object(pid_t tid, int fd) {
  BpfObject o;
  std::string base = "/proc/" + std::to_string(tid);
  char link[128];
  ssize_t n = readlink((base + "/fd/" + std::to_string(fd)).c_str(), link, sizeof(link) - 1);
  std::string target(link, n > 0 ? n : 0);
  if (target.rfind("anon_inode:", 0) == 0) o.kind = target.substr(11);
  FILE* f = fopen((base + "/fdinfo/" + std::to_string(fd)).c_str(), "r");
  if (!f) return o;
  char line[256];
  while (fgets(line, sizeof(line), f)) {
    unsigned long long v = 0;
    if (sscanf(line, "map_type: %llu", &v) == 1) o.map_type = static_cast<int>(v);
    if (sscanf(line, "key_size: %llu", &v) == 1) o.key_size = v;
    if (sscanf(line, "value_size: %llu", &v) == 1) o.value_size = v;
  }
  fclose(f);
  return o;
}

bool per_cpu_map(int type) {
  return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

// The attribute union as the kernel sees it: the first `size` bytes.
bool read_bpf_attr(SyscallMemReader& mem, const SyscallArgs& c, union bpf_attr* attr) {
  memset(attr, 0, sizeof(*attr));
  size_t size = std::min<uint64_t>(c.arg[2], sizeof(*attr));
  return size == 0 || mem.read(RemotePtr<>(c.arg[1]), attr, size);
}

// Where the query's link_ids field is in the attributes (newer than the
// kernel headers this may be built with): after target, attach_type,
// query_flags, attach_flags (4 bytes each), prog_ids, prog_cnt and its
// padding, prog_attach_flags.
constexpr uint64_t kQueryLinkIds = 40;

// The pointer fields of struct bpf_prog_info the kernel writes through.
constexpr size_t kProgInfoPointers[] = {
    offsetof(struct bpf_prog_info, jited_prog_insns), offsetof(struct bpf_prog_info, xlated_prog_insns),
    offsetof(struct bpf_prog_info, map_ids),          offsetof(struct bpf_prog_info, jited_ksyms),
    offsetof(struct bpf_prog_info, jited_func_lens),  offsetof(struct bpf_prog_info, func_info),
    offsetof(struct bpf_prog_info, line_info),        offsetof(struct bpf_prog_info, jited_line_info),
    offsetof(struct bpf_prog_info, prog_tags),
};

}  // namespace

std::string refused_bpf(const SyscallArgs& c, SyscallMemReader& mem, pid_t tid) {
  union bpf_attr attr;
  if (!read_bpf_attr(mem, c, &attr)) return {};  // EFAULT
  switch (c.arg[0]) {
    case BPF_MAP_CREATE:
    case BPF_MAP_UPDATE_ELEM:
    case BPF_MAP_DELETE_ELEM:
    case BPF_PROG_LOAD:
    case BPF_BTF_LOAD:
    case BPF_OBJ_PIN:
    case BPF_OBJ_GET:
    case BPF_PROG_ATTACH:
    case BPF_PROG_DETACH:
    case BPF_PROG_GET_NEXT_ID:
    case BPF_MAP_GET_NEXT_ID:
    case BPF_BTF_GET_NEXT_ID:
    case BPF_LINK_GET_NEXT_ID:
    case BPF_PROG_GET_FD_BY_ID:
    case BPF_MAP_GET_FD_BY_ID:
    case BPF_BTF_GET_FD_BY_ID:
    case BPF_LINK_GET_FD_BY_ID:
    case BPF_MAP_FREEZE:
    case BPF_LINK_CREATE:
    case BPF_LINK_DETACH:
    case BPF_PROG_BIND_MAP:
      return {};
    case BPF_MAP_LOOKUP_ELEM:
    case BPF_MAP_LOOKUP_AND_DELETE_ELEM:
    case BPF_MAP_GET_NEXT_KEY: {
      BpfObject o = bpf_object(tid, static_cast<int>(attr.map_fd));
      if (o.kind == "bpf-map" && per_cpu_map(o.map_type))
        return "bpf lookup in a per-CPU map is not supported yet";
      return {};
    }
    case BPF_PROG_QUERY: {
      // Newer kernels also fill link ids and their flags (tcx, netkit).
      uint64_t links[2] = {};
      if (c.arg[2] >= kQueryLinkIds + sizeof(links) && mem.read(RemotePtr<>(c.arg[1] + kQueryLinkIds), links, sizeof(links)) &&
          (links[0] || links[1]))
        return "bpf PROG_QUERY asking for link ids is not supported yet";
      return {};
    }
    case BPF_OBJ_GET_INFO_BY_FD: {
      BpfObject o = bpf_object(tid, static_cast<int>(attr.info.bpf_fd));
      if (o.kind == "bpf-map") return {};
      if (o.kind != "bpf-prog") return "bpf OBJ_GET_INFO_BY_FD of a " + o.kind + " object is not supported yet";
      // A program's info points to arrays the kernel fills: not followed yet.
      for (size_t at : kProgInfoPointers) {
        uint64_t ptr = 0;
        if (at + sizeof(ptr) <= attr.info.info_len && mem.read(RemotePtr<>(attr.info.info + at), &ptr, sizeof(ptr)) &&
            ptr != 0)
          return "bpf OBJ_GET_INFO_BY_FD asking for a program's arrays is not supported yet";
      }
      return {};
    }
  }
  return "bpf command " + std::to_string(c.arg[0]) + " is not supported yet";
}

std::string bpf(const SyscallArgs& c, SyscallMemReader& mem, Out& out) {
  union bpf_attr attr;
  if (!read_bpf_attr(mem, c, &attr)) return {};
  uint64_t attr_size = std::min<uint64_t>(c.arg[2], sizeof(attr));
  switch (c.arg[0]) {
    case BPF_PROG_LOAD:
      // The verifier's log, success or not, and the size it needed
      // (log_true_size, inside the attributes).
      if (attr.log_level && attr.log_buf && attr.log_size) add(out, attr.log_buf, attr.log_size);
      add(out, c.arg[1], attr_size);
      break;
    case BPF_BTF_LOAD:
      // The same for BTF, whose log fields are others.
      if (attr.btf_log_level && attr.btf_log_buf && attr.btf_log_size) add(out, attr.btf_log_buf, attr.btf_log_size);
      add(out, c.arg[1], attr_size);
      break;
    case BPF_MAP_LOOKUP_ELEM:
    case BPF_MAP_LOOKUP_AND_DELETE_ELEM:
      if (c.failed()) break;
      if (BpfObject o = bpf_object(mem.tid(), static_cast<int>(attr.map_fd)); o.kind == "bpf-map")
        add(out, attr.value, o.value_size);
      else
        return "bpf lookup in an object rr cannot identify";
      break;
    case BPF_MAP_GET_NEXT_KEY:
      if (c.failed()) break;
      if (BpfObject o = bpf_object(mem.tid(), static_cast<int>(attr.map_fd)); o.kind == "bpf-map")
        add(out, attr.next_key, o.key_size);
      else
        return "bpf GET_NEXT_KEY in an object rr cannot identify";
      break;
    case BPF_PROG_GET_NEXT_ID:
    case BPF_MAP_GET_NEXT_ID:
    case BPF_BTF_GET_NEXT_ID:
    case BPF_LINK_GET_NEXT_ID:
      if (!c.failed()) add(out, c.arg[1], attr_size);  // next_id
      break;
    case BPF_PROG_QUERY:
      // prog_cnt and attach_flags inside the attributes, and as many ids
      // (and flags) as the kernel counted. When they did not fit (ENOSPC)
      // the kernel filled the room the caller gave, which the count it
      // leaves no longer says.
      if (c.ret == -ENOSPC && attr.query.prog_ids)
        return "bpf PROG_QUERY with too small an array for the programs is not supported yet";
      if (c.failed()) break;
      add(out, c.arg[1], attr_size);
      if (attr.query.prog_ids) add(out, attr.query.prog_ids, uint64_t{attr.query.prog_cnt} * sizeof(uint32_t));
      if (attr.query.prog_attach_flags)
        add(out, attr.query.prog_attach_flags, uint64_t{attr.query.prog_cnt} * sizeof(uint32_t));
      break;
    case BPF_OBJ_GET_INFO_BY_FD:
      if (c.failed()) break;
      add(out, c.arg[1], attr_size);  // info_len
      add(out, attr.info.info, attr.info.info_len);
      break;
  }
  return {};
}


}  // namespace rr::syscall_custom
