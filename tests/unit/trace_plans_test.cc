// The progress counter's plans in a trace (format 1.21, trace/trace_files.h):
// a plan is written once per trace into plans/, every setup that uses it
// names that file, the reader gives back the plan byte for byte, and a
// damaged plan file is a Corrupt error, never a plan applied.
#include <gtest/gtest.h>

#include "plan_compare.h"
#include "scratch_dir.h"

#include <capnp/message.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/plan_store.h"
#include "core/progress_counter.h"
#include "trace/trace_files.h"

namespace rr {
namespace {

std::shared_ptr<const RewritePlan> sample_plan(uint64_t stub_base, char fill) {
  auto p = std::make_shared<RewritePlan>();
  p->stub_base = stub_base;
  p->stubs = std::string(3 * kLeanStubSize, fill);
  p->patches.push_back({0x401006, std::string("\x7c\x10", 2)});
  p->patches.push_back({0x401020, std::string("\xe9\x01\x02\x03\x04", 5)});
  p->counted = 2;
  p->uncovered = 1;
  p->spin_sites = {0x401008};
  p->poll_sites = {0x401030};
  return p;
}

// A folder of this test's own.
class TraceDir : public ScratchDir {
 public:
  TraceDir() : ScratchDir("rr-trace-plans") {}
};

// Writes a trace whose header is the only other part, with one frame whose
// exec image has `setups` (the first as progressCounter, the others as
// codeCounters), and opens it.
std::unique_ptr<TraceReader> write_trace(const std::string& dir, const std::vector<CounterSetup>& setups,
                                         capnp::MallocMessageBuilder& frame_msg) {
  auto w = TraceWriter::create(dir);
  EXPECT_TRUE(w.ok());
  capnp::MallocMessageBuilder header;
  auto h = header.initRoot<trace::TraceHeader>();
  h.setFormatMajor(kTraceFormatMajor);
  h.setFormatMinor(kTraceFormatMinor);
  h.setUuid(capnp_bytes(std::string(16, 'u')));
  EXPECT_TRUE(w.value()->write_header(header).ok());
  auto image = frame_msg.initRoot<trace::Frame>().initExec();
  EXPECT_TRUE(w.value()->write_counter_setup(setups[0], image.initProgressCounter()).ok());
  auto more = image.initCodeCounters(setups.size() - 1);
  for (size_t i = 1; i < setups.size(); ++i) EXPECT_TRUE(w.value()->write_counter_setup(setups[i], more[i - 1]).ok());
  EXPECT_TRUE(w.value()->write_frame(frame_msg).ok());
  EXPECT_TRUE(w.value()->finish().ok());
  auto r = TraceReader::open(dir);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(r.value()) : nullptr;
}

size_t files_in(const std::string& dir) {
  size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

TEST(TracePlans, AreWrittenOncePerTraceAndReadBackWhole) {
  TraceDir dir;
  auto libc = sample_plan(0x7ffff7000000, 'a');
  auto exe = sample_plan(0x3f0000, 'b');
  // Two setups of the same plan (two processes mapping the same code).
  std::vector<CounterSetup> setups = {{exe, 0x401000, 0x402000}, {libc, 0x7ffff7c00000, 0x7ffff7d00000},
                                      {libc, 0x7ffff7c00000, 0x7ffff7d00000}};
  capnp::MallocMessageBuilder msg;
  auto reader = write_trace(dir.path(), setups, msg);
  ASSERT_TRUE(reader);
  EXPECT_EQ(files_in(dir.path() + "/plans"), 2u);
  auto image = msg.getRoot<trace::Frame>().asReader().getExec();
  auto more = image.getCodeCounters();
  EXPECT_EQ(std::string(more[0].getPlanFile()), std::string(more[1].getPlanFile()));
  EXPECT_NE(std::string(image.getProgressCounter().getPlanFile()), std::string(more[0].getPlanFile()));
  EXPECT_EQ(more[0].getStubs().size(), 0u);  // the plan is not in the event
  auto main = reader->counter_setup(image.getProgressCounter());
  ASSERT_TRUE(main.ok()) << main.error().message;
  EXPECT_EQ(main.value().text_start, 0x401000u);
  EXPECT_EQ(main.value().text_end, 0x402000u);
  expect_same_kept_plan(*exe, *main.value().plan);
  for (auto m : more) {
    auto got = reader->counter_setup(m);
    ASSERT_TRUE(got.ok()) << got.error().message;
    expect_same_kept_plan(*libc, *got.value().plan);
  }
}

// A plan the store holds is linked into the trace, not written again.
TEST(TracePlans, AStoredPlanIsLinked) {
  TraceDir dir, store_dir;
  PlanStore store(store_dir.path() + "/plans");
  auto plan = sample_plan(0x3f0000, 'c');
  std::optional<StoredPlanFile> file = store.store(PlanKey{5, 6}, *plan);
  ASSERT_TRUE(file);
  CounterSetup setup{plan, 0x401000, 0x402000, file};
  capnp::MallocMessageBuilder msg;
  auto reader = write_trace(dir.path() + "/trace", {setup}, msg);
  ASSERT_TRUE(reader);
  auto pc = msg.getRoot<trace::Frame>().asReader().getExec().getProgressCounter();
  EXPECT_EQ(std::string(pc.getPlanFile()), "plans/" + (PlanKey{5, 6}).hex());
  struct stat linked, stored;
  ASSERT_EQ(stat((dir.path() + "/trace/" + std::string(pc.getPlanFile())).c_str(), &linked), 0);
  ASSERT_EQ(stat(file->path.c_str(), &stored), 0);
  EXPECT_EQ(linked.st_ino, stored.st_ino);
  auto got = reader->counter_setup(pc);
  ASSERT_TRUE(got.ok()) << got.error().message;
  expect_same_kept_plan(*plan, *got.value().plan);
}

TEST(TracePlans, ADamagedPlanFileIsCorrupt) {
  TraceDir dir;
  std::vector<CounterSetup> setups = {{sample_plan(0x3f0000, 'b'), 0x401000, 0x402000}};
  capnp::MallocMessageBuilder msg;
  auto reader = write_trace(dir.path(), setups, msg);
  ASSERT_TRUE(reader);
  auto pc = msg.getRoot<trace::Frame>().asReader().getExec().getProgressCounter();
  std::string path = dir.path() + "/" + std::string(pc.getPlanFile());
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('X');  // in the stubs
  }
  auto got = reader->counter_setup(pc);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().kind, ErrorKind::Corrupt);
  EXPECT_NE(got.error().message.find(std::string(pc.getPlanFile())), std::string::npos) << got.error().message;
}

// Traces of format 1.20 and before keep each plan in its event.
TEST(TracePlans, AnOlderEventKeepsItsPlan) {
  TraceDir dir;
  std::vector<CounterSetup> setups = {{nullptr, 0, 0}};
  capnp::MallocMessageBuilder msg;
  auto reader = write_trace(dir.path(), setups, msg);
  ASSERT_TRUE(reader);
  capnp::MallocMessageBuilder old;
  auto pc = old.initRoot<trace::ProgressCounterSetup>();
  pc.setCounterPage(kCounterPageAddr);
  pc.setStubBase(0x3f0000);
  pc.setStubs(capnp_bytes(std::string(64, 's')));
  auto patches = pc.initPatches(1);
  patches[0].setAddr(0x401006);
  patches[0].setData(capnp_bytes(std::string("\x7c\x10", 2)));
  pc.setCounted(1);
  pc.setTextStart(0x401000);
  pc.setTextEnd(0x402000);
  auto got = reader->counter_setup(pc.asReader());
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got.value().plan->stubs, std::string(64, 's'));
  ASSERT_EQ(got.value().plan->patches.size(), 1u);
  EXPECT_EQ(got.value().plan->patches[0].bytes, std::string("\x7c\x10", 2));
}

}  // namespace
}  // namespace rr
