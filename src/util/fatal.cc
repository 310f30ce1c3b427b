#include "util/fatal.h"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace rr {

void fatal(const std::string& message) { throw FatalError(message); }

void fatal_errno(const std::string& message) { throw FatalError(message + ": " + strerror(errno)); }

bool log_enabled() {
  static const bool enabled = [] {
    const char* v = getenv("RR_LOG");
    return v && *v && strcmp(v, "0") != 0;
  }();
  return enabled;
}

void log_line(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("[rr] ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

}  // namespace rr
