// Test helper: rewrites a trace's events stream with the Echo of one echoed
// syscall changed, so that tests can check that `replay -a` reports the
// mismatch instead of printing other bytes. Changes the first byte of the
// echo's data when it carries bytes (sendfile, splice...), else its hash.
//
// Usage: echo_tamper TRACE_DIR SYSCALL_NAME
// Prints "tampered event N" and exits 0, or exits 1 when no echoed syscall of
// that name is in the trace.
#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/syscall_table.h"
#include "tool.h"
#include "trace/block_stream.h"
#include "trace/trace_files.h"

int main(int argc, char** argv) {
  using namespace rr;
  const test_tools::ToolCommand tool("echo_tamper", "TRACE_DIR SYSCALL_NAME", argc, argv);
  if (!tool.has_args(2)) return tool.usage();
  std::string dir = tool.arg(1), name = tool.arg(2);
  int64_t nr = syscall_number(name);
  if (nr < 0) return tool.fail("no syscall named " + name);
  auto reader = BlockStreamReader::open(dir + "/events");
  if (!reader) return tool.fail(reader.error().message);
  auto writer = BlockStreamWriter::create(dir + "/events.tampered", Codec::Zstd);
  if (!writer) return tool.fail(writer.error().message);
  std::vector<uint8_t> record;
  uint64_t tampered = 0;
  for (;;) {
    auto more = reader->next(record);
    if (!more) return tool.fail(more.error().message);
    if (!*more) break;
    FrameData data(record);
    auto f = data.frame();
    bool pick = tampered == 0 && f.which() == trace::Frame::SYSCALL && f.getSyscall().getNumber() == nr &&
                f.getSyscall().hasEcho();
    if (!pick) {
      if (!writer->append(record.data(), record.size())) return tool.fail("cannot write");
      continue;
    }
    capnp::MallocMessageBuilder msg;
    msg.setRoot(f);
    auto echo = msg.getRoot<trace::Frame>().getSyscall().getEcho();
    if (echo.getData().size() > 0)
      echo.getData()[0] ^= 0x20;
    else
      echo.setHash(echo.getHash() ^ 1);
    kj::Array<capnp::word> words = capnp::messageToFlatArray(msg);
    auto bytes = words.asBytes();
    if (!writer->append(bytes.begin(), bytes.size())) return tool.fail("cannot write");
    tampered = f.getEvent();
  }
  if (!writer->finish()) return tool.fail("cannot finish the stream");
  if (tampered == 0) return tool.fail("no echoed " + name + " in " + dir);
  if (rename((dir + "/events.tampered").c_str(), (dir + "/events").c_str()) != 0) return tool.fail("cannot rename");
  printf("tampered event %llu\n", (unsigned long long)tampered);
  return 0;
}
