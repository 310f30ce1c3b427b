// FatalError is thrown by fatal() for failures deep inside a command that
// no caller can repair (the tracee vanished, ptrace refused, a divergence
// found below a Result-returning API). It carries one line for the user;
// main() catches it, prints it and exits non-zero, and the few places that
// own tracees (a replay being set up, copied or restored) catch it to end
// them first. Errors the caller can handle are
// Result/Status values instead (util/result.h).
#pragma once

#include <stdexcept>
#include <string>

namespace rr {

class FatalError : public std::runtime_error {
 public:
  explicit FatalError(const std::string& message) : std::runtime_error(message) {}
};

[[noreturn]] void fatal(const std::string& message);
// fatal() with ": <strerror(errno)>" appended.
[[noreturn]] void fatal_errno(const std::string& message);

// Debug logging to stderr, enabled by RR_LOG=1.
bool log_enabled();
void log_line(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
#define RR_LOG(...) \
  do {              \
    if (::rr::log_enabled()) ::rr::log_line(__VA_ARGS__); \
  } while (0)

}  // namespace rr
