#include "core/buffered_records.h"

#include <sys/syscall.h>

#include <cstring>
#include <string>

#include "core/syscall_table.h"

#include "preload/syscall_buffer.h"

namespace rr {

namespace {

// The advice of a madvise record (its third argument, kept in the record).
bool harmless_madvise(std::string_view out) {
  uint64_t args[5];
  memcpy(args, out.data(), sizeof args);
  return rr_buffer_madvise_ok((int64_t)args[2]);
}

}  // namespace

Result<std::vector<BufferedRecord>> parse_buffered_records(std::string_view bytes) {
  std::vector<BufferedRecord> out;
  for (size_t at = 0; at < bytes.size();) {
    rr_buffer_record rec;
    if (bytes.size() - at < sizeof rec) return make_error(ErrorKind::Internal, "a truncated syscall buffer record");
    memcpy(&rec, bytes.data() + at, sizeof rec);
    const SyscallDesc* desc = syscall_desc(rec.number);
    bool args_ok = !rr_buffer_keeps_args(rec.number) || rec.out_len >= RR_RECORD_ARGS_LEN;
    bool sized = rec.size >= rr_buffer_record_size(rec.out_len) && rec.size <= bytes.size() - at;
    // A call replay executes cannot be a record: but madvise with advice
    // that changes nothing replay sees (rr_buffer_madvise_ok) needs no replay.
    bool replayable = desc && (desc->policy == ReplayPolicy::Emulate || (rec.number == SYS_madvise && args_ok && sized &&
                                                                          harmless_madvise(bytes.substr(at + sizeof rec))));
    if (!sized || !replayable || !args_ok)
      return make_error(ErrorKind::Internal, "the syscall buffer kept a call replay cannot feed back: syscall " +
                                                 std::to_string(rec.number) + ", " + std::to_string(rec.size) + " bytes");
    out.push_back(BufferedRecord{rec.number, rec.result, bytes.substr(at + sizeof rec, rec.out_len)});
    at += rec.size;
  }
  return out;
}

void apply_buffered_fd_changes(std::shared_ptr<FdTable>& table, const std::vector<BufferedRecord>& records) {
  auto no_memory = [](RemotePtr<>, void*, size_t) { return false; };
  for (const BufferedRecord& r : records) {
    if (!rr_buffer_keeps_args(r.number)) continue;
    uint64_t args[6] = {0, 0, 0, 0, 0, 0};
    memcpy(args, r.out.data(), RR_RECORD_ARGS_LEN);
    FdTable::on_syscall(table, r.number, args, r.result, no_memory);
  }
}

}  // namespace rr
