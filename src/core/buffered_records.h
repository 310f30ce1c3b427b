// The syscall buffer's records (preload/syscall_buffer.h) as the engine
// reads them: the recorder when it takes them out of a tracee, replay when
// it checks what the same library code left. Both keep their fd tables from
// the records of the calls that change them (openat, close), the same way.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "core/fd_table.h"
#include "util/result.h"

namespace rr {

struct BufferedRecord {
  int64_t number = -1;
  int64_t result = 0;
  std::string_view out;  // the kernel's output, or the arguments (rr_buffer_keeps_args)
};

// Splits `bytes` into records; an error names the first malformed one
// (a record replay could not feed back: a library bug, never ignored).
Result<std::vector<BufferedRecord>> parse_buffered_records(std::string_view bytes);

// What the records' openat and close calls did to the task's fd table.
void apply_buffered_fd_changes(std::shared_ptr<FdTable>& table, const std::vector<BufferedRecord>& records);

}  // namespace rr
