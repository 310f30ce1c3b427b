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
#include "trace/block_stream.h"
#include "trace/trace_files.h"

namespace {

int fail(const std::string& why) {
  fprintf(stderr, "echo_tamper: %s\n", why.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace rr;
  if (argc != 3) return fail("usage: echo_tamper TRACE_DIR SYSCALL_NAME");
  std::string dir = argv[1];
  int64_t nr = syscall_number(argv[2]);
  if (nr < 0) return fail(std::string("no syscall named ") + argv[2]);
  auto reader = BlockStreamReader::open(dir + "/events");
  if (!reader) return fail(reader.error().message);
  auto writer = BlockStreamWriter::create(dir + "/events.tampered", Codec::Zstd);
  if (!writer) return fail(writer.error().message);
  std::vector<uint8_t> record;
  uint64_t tampered = 0;
  for (;;) {
    auto more = reader->next(record);
    if (!more) return fail(more.error().message);
    if (!*more) break;
    FrameData data(record);
    auto f = data.frame();
    bool pick = tampered == 0 && f.which() == trace::Frame::SYSCALL && f.getSyscall().getNumber() == nr &&
                f.getSyscall().hasEcho();
    if (!pick) {
      if (!writer->append(record.data(), record.size())) return fail("cannot write");
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
    if (!writer->append(bytes.begin(), bytes.size())) return fail("cannot write");
    tampered = f.getEvent();
  }
  if (!writer->finish()) return fail("cannot finish the stream");
  if (tampered == 0) return fail(std::string("no echoed ") + argv[2] + " in " + dir);
  if (rename((dir + "/events.tampered").c_str(), (dir + "/events").c_str()) != 0) return fail("cannot rename");
  printf("tampered event %llu\n", (unsigned long long)tampered);
  return 0;
}
