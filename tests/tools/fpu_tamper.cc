// Test helper: changes what a trace or a checkpoint says about a thread's
// FPU state (or where a progress counter trap is), the way a forger would
// (every checksum made to match), so that tests can check that replay and
// restore compare the state with the recording instead of trusting either.
//
// Usage:
//   fpu_tamper checkpoint FILE OFFSET
//       flips the low bit of byte OFFSET of the first task's XSAVE area in the
//       checkpoint FILE, in place, and recomputes the info checksum in its
//       header. Prints "forged tid T xsave byte OFFSET: A -> B".
//   fpu_tamper trace TRACE_DIR EVENT
//       rewrites the trace's events stream with the FPU digest of the first
//       frame at or after EVENT that has one changed. Prints "tampered event N tid T".
//   fpu_tamper ticks TRACE_DIR EVENT
//       the same with the count of the first progress counter trap at or after
//       EVENT one higher: replay's trap comes one counted branch later.
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.capnp.h"
#include "tool.h"
#include "trace/block_stream.h"
#include "trace/trace_files.h"
#include "util/io.h"

namespace {

using rr::test_tools::ToolCommand;

// Where the header of a checkpoint file keeps the info's place and checksum
// (checkpoint.capnp describes the 64-byte header).
constexpr size_t kInfoOffsetAt = 40, kInfoSizeAt = 48, kInfoChecksumAt = 56;

int forge_checkpoint(const ToolCommand& tool, const std::string& path, size_t offset) {
  auto bytes = rr::read_file(path);
  if (!bytes.ok()) return tool.fail(bytes.error().message);
  std::string file = bytes.value();
  if (file.size() < 64) return tool.fail(path + " has no header");
  uint64_t info_offset, info_size;
  memcpy(&info_offset, file.data() + kInfoOffsetAt, 8);
  memcpy(&info_size, file.data() + kInfoSizeAt, 8);
  if (info_offset > file.size() || info_size > file.size() - info_offset || info_size % 8)
    return tool.fail(path + ": the info is not inside the file");
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(info_size / 8);
  memcpy(words.begin(), file.data() + info_offset, info_size);
  capnp::ReaderOptions options;
  options.traversalLimitInWords = 1ull << 40;
  capnp::FlatArrayMessageReader message(words.asPtr(), options);
  auto procs = message.getRoot<rr::ckpt::CheckpointInfo>().getProcesses();
  if (procs.size() == 0 || procs[0].getTasks().size() == 0) return tool.fail(path + " holds no task");
  auto task = procs[0].getTasks()[0];
  auto xsave = task.getXsave();
  if (offset >= xsave.size()) return tool.fail("the XSAVE area has only " + std::to_string(xsave.size()) + " bytes");
  // The Data points into `words`: the same place in the file.
  size_t at = info_offset + (reinterpret_cast<const char*>(xsave.begin()) - reinterpret_cast<const char*>(words.begin())) + offset;
  uint8_t before = (uint8_t)file[at];
  file[at] = (char)(before ^ 1);
  uint64_t sum = XXH64(file.data() + info_offset, info_size, 0);
  memcpy(&file[kInfoChecksumAt], &sum, 8);
  rr::Status st = rr::write_file_atomic(path, file.data(), file.size());
  if (!st.ok()) return tool.fail(st.error().message);
  printf("forged tid %d xsave byte %zu: 0x%02x -> 0x%02x\n", task.getRecordedTid(), offset, before, before ^ 1);
  return 0;
}

// Rewrites the first frame at or after `event` that `change` changes (it
// returns false for frames it leaves alone).
template <typename Change>
int tamper_trace(const ToolCommand& tool, const std::string& dir, uint64_t event, const char* what, Change change) {
  auto reader = rr::BlockStreamReader::open(dir + "/events");
  if (!reader) return tool.fail(reader.error().message);
  auto writer = rr::BlockStreamWriter::create(dir + "/events.tampered", rr::Codec::Zstd);
  if (!writer) return tool.fail(writer.error().message);
  std::vector<uint8_t> record;
  uint64_t tampered = 0;
  int tid = 0;
  for (;;) {
    auto more = reader->next(record);
    if (!more) return tool.fail(more.error().message);
    if (!*more) break;
    rr::FrameData data(record);
    auto f = data.frame();
    capnp::MallocMessageBuilder msg;
    if (tampered == 0 && f.getEvent() >= event) msg.setRoot(f);
    if (tampered != 0 || f.getEvent() < event || !change(msg.getRoot<rr::trace::Frame>())) {
      if (!writer->append(record.data(), record.size())) return tool.fail("cannot write");
      continue;
    }
    kj::Array<capnp::word> words = capnp::messageToFlatArray(msg);
    auto bytes = words.asBytes();
    if (!writer->append(bytes.begin(), bytes.size())) return tool.fail("cannot write");
    tampered = f.getEvent();
    tid = f.getTid();
  }
  if (!writer->finish()) return tool.fail("cannot finish the stream");
  if (tampered == 0) return tool.fail(std::string("no frame with ") + what + " at or after event " + std::to_string(event));
  if (rename((dir + "/events.tampered").c_str(), (dir + "/events").c_str()) != 0) return tool.fail("cannot rename");
  printf("tampered event %llu tid %d\n", (unsigned long long)tampered, tid);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const ToolCommand tool("fpu_tamper", "checkpoint FILE OFFSET | trace TRACE_DIR EVENT | ticks TRACE_DIR EVENT", argc,
                         argv);
  if (!tool.has_args(3)) return tool.usage();
  std::string mode = tool.arg(1);
  char* end = nullptr;
  unsigned long long n = strtoull(tool.arg(3).c_str(), &end, 0);
  if (!end || *end) return tool.usage();
  if (mode == "checkpoint") return forge_checkpoint(tool, tool.arg(2), n);
  if (mode == "trace")
    return tamper_trace(tool, tool.arg(2), n, "an FPU digest", [](rr::trace::Frame::Builder f) {
      if (f.getFpuDigest() == 0) return false;
      f.setFpuDigest(f.getFpuDigest() ^ 0x100);
      return true;
    });
  if (mode == "ticks")
    return tamper_trace(tool, tool.arg(2), n, "a progress counter trap", [](rr::trace::Frame::Builder f) {
      if (!f.isProgress()) return false;
      f.getProgress().setTicks(f.getProgress().getTicks() + 1);
      return true;
    });
  return tool.usage();
}
