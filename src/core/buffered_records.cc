#include "core/buffered_records.h"

#include <sys/syscall.h>

#include <cstring>
#include <string>

#include "core/syscall_table.h"

#include "preload/syscall_buffer.h"

namespace rr {

namespace {

// A record of a call replay executes when it is traced, which this one's
// arguments (kept in the record) say it need not: madvise with advice that
// changes nothing replay sees, rt_sigaction that sets no action.
bool needs_no_replay(int64_t nr, std::string_view out) {
  uint64_t args[5];
  memcpy(args, out.data(), sizeof args);
  if (nr == SYS_madvise) return rr_buffer_madvise_ok((int64_t)args[2]);
  if (nr == SYS_rt_sigaction) return rr_buffer_sigaction_query(args);
  return false;
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
    // A call replay executes cannot be a record, unless its arguments say
    // that it changes nothing replay sees (needs_no_replay).
    bool replayable = desc && (desc->policy == ReplayPolicy::Emulate ||
                               (rr_buffer_keeps_args(rec.number) && args_ok && sized &&
                                needs_no_replay(rec.number, bytes.substr(at + sizeof rec))));
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
