// rr record [-o DIR] PROG [ARGS...]
#include "cli/command.h"
#include "record/record_session.h"

namespace rr {

int cmd_record(const Args& args) {
  RecordOptions opts;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-o" || a == "--output-trace-dir") {
      if (i + 1 >= args.size()) return fail("-o needs a directory");
      opts.output_dir = args[++i];
    } else if (a == "-q" || a == "--quiet") {
      opts.quiet = true;
    } else if (a == "--") {
      ++i;
      break;
    } else if (!a.empty() && a[0] == '-') {
      return fail("unknown record option " + a);
    } else {
      break;
    }
  }
  if (i >= args.size()) return fail("usage: rr record [-o DIR] PROG [ARGS...]");
  opts.argv.assign(args.begin() + i, args.end());
  Result<int> status = RecordSession::record(opts);
  if (!status.ok()) return fail(status.error().message);
  return status.value();
}

}  // namespace rr
