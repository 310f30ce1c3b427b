// Test helper: sets one machine fact in a trace's header (and the header's
// line in the trace's sums), as a trace recorded on another machine would
// carry it, so that tests can check that replay refuses it in one line
// (and replays it with the override).
//
// Usage: header_tamper TRACE_DIR FIELD VALUE
// FIELD: boundCpu, cpuid1Ecx, cpuid7Ebx, xsaveSize or formatMinor (as an
// older rr would have written it); VALUE: a number (decimal or 0x hex), or
// "+N" to add N to the recorded value.
#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "tool.h"
#include "trace/trace_files.h"
#include "trace/trace_sums.h"
#include "util/io.h"

int main(int argc, char** argv) {
  using namespace rr;
  const test_tools::ToolCommand tool("header_tamper", "TRACE_DIR FIELD VALUE", argc, argv);
  if (!tool.has_args(3)) return tool.usage();
  std::string dir = tool.arg(1);
  std::string path = dir + "/header";
  auto bytes = read_file(path);
  if (!bytes.ok()) return tool.fail(bytes.error().message);
  if (bytes.value().size() % 8) return tool.fail("the header is not whole words");
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(bytes.value().size() / 8);
  memcpy(words.begin(), bytes.value().data(), bytes.value().size());
  capnp::FlatArrayMessageReader in(words.asPtr());
  capnp::MallocMessageBuilder out;
  out.setRoot(in.getRoot<trace::TraceHeader>());
  auto h = out.getRoot<trace::TraceHeader>();
  std::string field = tool.arg(2), value = tool.arg(3);
  bool relative = !value.empty() && value[0] == '+';
  long long v = strtoll(value.c_str() + (relative ? 1 : 0), nullptr, 0);
  if (field == "boundCpu") h.setBoundCpu(int32_t((relative ? h.getBoundCpu() : 0) + v));
  else if (field == "cpuid1Ecx") h.setCpuid1Ecx(uint32_t((relative ? h.getCpuid1Ecx() : 0) + v));
  else if (field == "cpuid7Ebx") h.setCpuid7Ebx(uint32_t((relative ? h.getCpuid7Ebx() : 0) + v));
  else if (field == "xsaveSize") h.setXsaveSize(uint32_t((relative ? h.getXsaveSize() : 0) + v));
  else if (field == "formatMinor") h.setFormatMinor(uint32_t((relative ? h.getFormatMinor() : 0) + v));
  else return tool.fail("unknown field " + field);
  kj::Array<capnp::word> flat = capnp::messageToFlatArray(out);
  auto b = flat.asBytes();
  Status st = write_file_atomic(path, b.begin(), b.size());
  if (!st.ok()) return tool.fail(st.error().message);
  // Its sum too, as the other machine's rr would have written it.
  std::string sums_path = dir + "/sums";
  auto sums = read_file(sums_path);
  if (!sums.ok()) return tool.fail(sums.error().message);
  std::string kept;
  size_t pos = 0;
  while (pos < sums.value().size()) {
    size_t nl = sums.value().find('\n', pos);
    std::string line = sums.value().substr(pos, nl - pos + 1);
    pos = nl == std::string::npos ? sums.value().size() : nl + 1;
    if (line.size() < 8 || line.compare(line.size() - 8, 8, " header\n") != 0) kept += line;
  }
  st = write_file_atomic(sums_path, kept.data(), kept.size());
  if (st.ok()) st = append_sum(dir, "header", sum_bytes(b.begin(), b.size()));
  if (!st.ok()) return tool.fail(st.error().message);
  return 0;
}
