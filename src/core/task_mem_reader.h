// The syscall table's view of a stopped tracee's memory.
#pragma once

#include "core/task.h"
#include "core/syscall_table.h"

namespace rr {

class TaskMemReader : public SyscallMemReader {
 public:
  explicit TaskMemReader(Task& t) : t_(t) {}
  bool read(RemotePtr<> addr, void* buf, size_t len) override { return t_.read_mem(addr, buf, len); }
  pid_t tid() const override { return t_.tid(); }

 private:
  Task& t_;
};

}  // namespace rr
