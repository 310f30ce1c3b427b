// TraceWriter and TraceReader: the trace directory as a whole (version file,
// header, event stream), and the trace naming rules of `rr record`.
#pragma once

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <memory>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/address_space.h"
#include "core/progress_counter.h"
#include "trace/block_stream.h"
#include "trace/trace.capnp.h"
#include "trace/trace_sums.h"
#include "util/result.h"

namespace rr {

constexpr uint32_t kTraceFormatMajor = 1;
// 1.2: SyscallEvent.echo; 1.3: events in a stream of numbered blocks with an
// end mark, and a sums file checked before any other part is used;
// 1.4: SyscallEvent.newFdKind, TraceHeader.stackLimit; 1.5: MapResult.shmId
// (System V shared memory), RdtscEvent.segvReblocked and segvHandler;
// 1.6: SyscallEvent.fileChanges, shared-files lists every file replay
// emulates, sparse sums ('z') in sums
// 1.7: SyscallEvent.childTid and childNsTids, SyscallEntryEvent.childNsTids
// (tasks in PID namespaces the program created)
// 1.8: Frame.fpuDigest (replay compares the FPU state, not only the general
// registers)
// 1.9: SyscallEvent.ptraceTracee, traceeRegs, traceeWrites and traceeXsave
// (ptrace between tracees)
// 1.10: ExecImage.progressCounter and Frame.progress (the software progress
// counter, rr record --progress-counter)
// 1.11: SyscallEvent.traceeStep and skippedByTracer (tracers inside the
// recording that single-step or emulate syscalls)
// 1.12: Frame.syscallBuffer (rr record --syscall-buffer)
// 1.13: SyscallEvent.traceeDebugReg and traceeDebugValue (tracers inside the
// recording that set debug registers)
// 1.14: ExecImage.codeCounters and SyscallEvent.counter (the progress
// counter covers the dynamic loader, shared libraries and later images)
// 1.15: TraceHeader.chaos and chaosSeed (rr record --chaos)
// 1.16: ProgressCounterSetup.spinSites and ProgressEvent.spin (loops that
// change nothing park the thread that reaches them)
// 1.17: ExecImage.randomSites, SyscallEvent.randomSites and RdtscEvent.random
// (rdrand and rdseed trap and are emulated)
// 1.18: ProgressCounterSetup.pollSites and ProgressEvent.poll (loops that
// only read memory are events when their branch is taken)
// 1.19: ProgressCounterSetup.stubs may hold lean stubs (they change the
// status flags, for targets whose code writes them before reading any),
// whose trap at_counter_trap knows
// 1.20: lean stubs leave the same status flags at any count (`cmp eax, eax`
// after the count); replay refuses 1.19's, whose flags depended on it
// 1.21: ProgressCounterSetup.planFile (a plan is a file of the trace, written
// once per trace and named by the processes that use it, not a part of
// every process's event)
// 1.22: Frame.lockedBuffers (replay locks a syscall buffer where the recorder
// did: the library's code in an unbuffered task is the same in both roads)
// 1.23: ProgressCounterSetup.image (the rewritten code is a file of the trace
// that replay maps, not patches it writes into every process)
// 1.24: Frame.fdGate (replay writes the recorder's rewrites of the syscall
// buffer's fd gate, so that the buffer's memory is the same in both roads)
constexpr uint32_t kTraceFormatMinor = 24;

// Where traces live: $_RR_TRACE_DIR, else ~/.local/share/rr.
std::string trace_root();
// Resolves the TRACE argument of a command: empty means latest-trace; a bare
// name is looked up under trace_root().
std::string resolve_trace_dir(const std::string& arg);

// Bytes into a capnp Data field, and a Data field back into bytes.
kj::ArrayPtr<const kj::byte> capnp_bytes(const void* data, size_t len);
inline kj::ArrayPtr<const kj::byte> capnp_bytes(const std::string& s) { return capnp_bytes(s.data(), s.size()); }
std::string data_string(capnp::Data::Reader d);

// A frame of the kind that closes a trace: a task's end, an exit or
// exit_group call, a signal (the one that kills the program, or whose
// handler exits). The run of such frames that ends a trace is the
// program's exit, where no checkpoint can be written (its tasks are
// ending, or a signal is in flight) and nothing but those ends happens:
// the checkpoint just before it stands for the points inside it.
bool frame_ends_a_task(trace::Frame::Reader f);

// capnp <-> C++ for process images.
void image_to_capnp(const ProcessImage& img, trace::ExecImage::Builder out);
ProcessImage image_from_capnp(trace::ExecImage::Reader in);
void regs_to_capnp(const Registers& r, trace::Registers::Builder out);
Registers regs_from_capnp(trace::Registers::Reader in);

class TraceWriter {
 public:
  // Creates the trace directory `dir` (which must not exist yet, or be empty).
  static Result<std::unique_ptr<TraceWriter>> create(const std::string& dir);
  Status write_header(capnp::MessageBuilder& header);
  Status write_frame(capnp::MessageBuilder& frame);
  // Writes a small file of the trace (`rel`, e.g. "shared-files") and its sum.
  Status write_part(const std::string& rel, const void* data, size_t len);
  // Writes a progress counter's setup into `out`: its plan goes into a file
  // of its own (plans/, named by its bytes' hash, written once per trace
  // and listed in sums before any frame names it), which `out` names.
  // Compressing every process's plans into its events was about a sixth of
  // `rr record python3 -c pass`'s CPU (python3's and its libraries' plans
  // are 8 MB).
  Status write_counter_setup(const CounterSetup& setup, trace::ProgressCounterSetup::Builder out);
  // Writes the frames written so far into the events file (not synced), so
  // that a reader following the trace (TraceReader::follow) sees them.
  Status flush() { return events_.flush(); }
  // Where the next frame goes in the events stream.
  StreamPos next_frame_position() { return events_.position(); }
  // Flushes and syncs the streams; the trace is complete afterwards.
  Status finish();
  const std::string& dir() const { return dir_; }

 private:
  explicit TraceWriter(std::string dir, BlockStreamWriter events)
      : dir_(std::move(dir)), events_(std::move(events)) {}
  std::string dir_;
  BlockStreamWriter events_;
  std::set<std::string> plans_;  // the plan files written
  std::set<std::string> images_;  // the code images linked in
  // Links a code image into the trace (images/<key>, listed in sums) and
  // returns its name there; empty when it cannot be linked (another file
  // system): it is then left out, and replay writes the bytes instead.
  Result<std::string> link_code_image(const CodeImage& image);
};

// One decoded frame; keeps the bytes its reader points into alive.
class FrameData {
 public:
  explicit FrameData(std::vector<uint8_t>& bytes);
  trace::Frame::Reader frame() const { return frame_; }

 private:
  kj::Array<capnp::word> words_;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader_;
  trace::Frame::Reader frame_;
};

class TraceReader {
 public:
  static Result<std::unique_ptr<TraceReader>> open(const std::string& dir);
  const std::string& dir() const { return dir_; }
  trace::TraceHeader::Reader header() const { return header_reader_->getRoot<trace::TraceHeader>(); }
  // The trace's 16-byte id (checked when the header is opened).
  std::string uuid() const { return data_string(header().getUuid()); }
  // The next frame, or nullopt at the end of the trace.
  Result<std::optional<FrameData>> next();
  // At the end: whether the recording finished the trace (its events end
  // with their end mark); false when rr was killed while recording or the
  // trace was cut short.
  bool finished() const { return events_.finished(); }
  // The same, known without reading the events (from the file's tail).
  bool ends_finished() { return events_.ends_with_mark(); }
  // What a reader says of a trace that ends without its end mark.
  std::string unfinished_message(uint64_t last_event) const;
  // Checks the trace file `rel` (a copy in files/) against the trace's
  // sums before it is used; a damaged or unlisted file is a Corrupt error
  // naming it.
  Status check_file(const std::string& rel) { return sums_.check_file(rel); }
  // Reads a small file of the trace, checked against its sum.
  Result<std::string> read_part(const std::string& rel);
  // The progress counter's setup `in` (ExecImage.progressCounter and
  // codeCounters, SyscallEvent.counter) with its plan, read from the plan
  // file it names (format 1.21 on; checked against its sum, read once per
  // trace) or from `in` itself (older traces). A file missing, damaged or
  // not a plan is a Corrupt error naming it.
  Result<CounterSetup> counter_setup(trace::ProgressCounterSetup::Reader in);
  StreamPos position() const { return events_.position(); }
  Status seek(StreamPos pos) { return events_.seek(pos); }
  // Reads a trace while it is recorded: at the end of what is written,
  // next() waits with `wait_for_more` (see BlockStreamReader::follow).
  // Files the recording adds to the trace meanwhile are found in the sums
  // as they are checked (TraceSums::check_file reads the sums again).
  void follow(std::function<bool()> wait_for_more) { events_.follow(std::move(wait_for_more)); }
  // The frame just before position `pos` (nullopt when `pos` is the
  // first). Moves the reader: seek afterwards.
  Result<std::optional<FrameData>> frame_before(StreamPos pos);

 private:
  TraceReader(std::string dir, BlockStreamReader events) : dir_(std::move(dir)), events_(std::move(events)) {}
  std::string dir_;
  BlockStreamReader events_;
  TraceSums sums_;
  kj::Array<capnp::word> header_words_;
  std::unique_ptr<capnp::FlatArrayMessageReader> header_reader_;
  std::vector<uint8_t> buf_;
  // Plans read from plan files, by file: the processes of a trace that
  // map the same code at the same place name the same file. Those used
  // last, up to kPlanBytesKept bytes (a build's cc1 has a 30 MB plan; a
  // make's processes name some 25 plans, and keeping the latest 16 read
  // cc1's again at every exec of it).
  std::map<std::string, std::shared_ptr<const RewritePlan>> plans_;
  std::vector<std::string> plan_order_;  // plans_'s keys, the one used last last
  size_t plan_bytes_ = 0;                // of the plans kept
  static constexpr size_t kPlanBytesKept = 256u << 20;
};

capnp::ReaderOptions big_reader_options();

}  // namespace rr
