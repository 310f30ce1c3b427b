// What the trace-tampering test tools (echo_tamper, header_tamper,
// fpu_tamper) share: their command line and their one way out on a
// failure, which names the tool and says why on stderr.
#pragma once

#include <cstdio>
#include <string>

namespace rr::test_tools {

// A tool's name, the arguments it was given and the ones it wants.
class ToolCommand {
 public:
  ToolCommand(const char* name, const char* usage, int argc, char** argv)
      : name_(name), usage_(usage), argc_(argc), argv_(argv) {}

  // Whether exactly `count` arguments follow the tool's name.
  bool has_args(int count) const { return argc_ == count + 1; }
  // Argument `i`, counted from 1 as in argv.
  std::string arg(int i) const { return argv_[i]; }

  // Prints "NAME: WHY" and returns main's failure status.
  int fail(const std::string& why) const {
    fprintf(stderr, "%s: %s\n", name_, why.c_str());
    return 1;
  }
  int usage() const { return fail(std::string("usage: ") + name_ + " " + usage_); }

 private:
  const char* name_;
  const char* usage_;
  int argc_;
  char** argv_;
};

}  // namespace rr::test_tools
