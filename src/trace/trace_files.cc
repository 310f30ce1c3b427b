#include "trace/trace_files.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/plan_store.h"
#include "util/invariant.h"
#include "util/io.h"
#include "util/scoped_fd.h"

namespace rr {

bool frame_ends_a_task(trace::Frame::Reader f) {
  if (f.isExit() || f.isSignal()) return true;
  if (!f.isSyscall()) return false;
  int64_t nr = f.getSyscall().getNumber();
  return nr == SYS_exit || nr == SYS_exit_group;
}

capnp::ReaderOptions big_reader_options() {
  capnp::ReaderOptions o;
  o.traversalLimitInWords = uint64_t(1) << 40;
  o.nestingLimit = 128;
  return o;
}

std::string trace_root() {
  const char* env = getenv("_RR_TRACE_DIR");
  if (env && *env) return env;
  const char* home = getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.local/share/rr";
}

std::string resolve_trace_dir(const std::string& arg) {
  if (arg.empty()) return trace_root() + "/latest-trace";
  if (arg.find('/') == std::string::npos && !path_exists(arg)) return trace_root() + "/" + arg;
  return arg;
}

kj::ArrayPtr<const kj::byte> capnp_bytes(const void* data, size_t len) {
  return kj::arrayPtr(reinterpret_cast<const kj::byte*>(data), len);
}

std::string data_string(capnp::Data::Reader d) { return std::string(reinterpret_cast<const char*>(d.begin()), d.size()); }

void regs_to_capnp(const Registers& r, trace::Registers::Builder out) { out.setRaw(capnp_bytes(r.to_bytes())); }

Registers regs_from_capnp(trace::Registers::Reader in) {
  Registers r;
  auto raw = in.getRaw();
  Registers::from_bytes(raw.begin(), raw.size(), r);
  return r;
}

void image_to_capnp(const ProcessImage& img, trace::ExecImage::Builder out) {
  auto maps = out.initMappings(img.mappings.size());
  for (size_t i = 0; i < img.mappings.size(); ++i) {
    const MappingRecord& m = img.mappings[i];
    auto b = maps[i];
    b.setStart(m.start.as_int());
    b.setEnd(m.end.as_int());
    b.setProt(m.prot);
    b.setShared(m.shared);
    b.setOffset(m.offset);
    b.setName(m.name);
    b.setGrowsDown(m.grows_down);
    b.setNoReserve(m.noreserve);
    b.setPkey((uint8_t)m.pkey);
    switch (m.backing) {
      case Backing::Anonymous: b.getBacking().setAnonymous(); break;
      case Backing::File: b.getBacking().setFile(m.file); break;
      case Backing::Special: b.getBacking().setSpecial(); break;
    }
  }
  auto pages = out.initPages(img.pages.size());
  for (size_t i = 0; i < img.pages.size(); ++i) {
    pages[i].setAddr(img.pages[i].addr.as_int());
    pages[i].setData(capnp_bytes(img.pages[i].data));
  }
  auto mm = out.initMm();
  mm.setStartCode(img.mm.start_code.as_int());
  mm.setEndCode(img.mm.end_code.as_int());
  mm.setStartData(img.mm.start_data.as_int());
  mm.setEndData(img.mm.end_data.as_int());
  mm.setStartBrk(img.mm.start_brk.as_int());
  mm.setBrk(img.mm.brk.as_int());
  mm.setStartStack(img.mm.start_stack.as_int());
  mm.setArgStart(img.mm.arg_start.as_int());
  mm.setArgEnd(img.mm.arg_end.as_int());
  mm.setEnvStart(img.mm.env_start.as_int());
  mm.setEnvEnd(img.mm.env_end.as_int());
  mm.setAuxv(capnp_bytes(img.mm.auxv));
  mm.setExeFile(img.mm.exe_file);
  regs_to_capnp(img.regs, out.initRegs());
  out.setXsave(capnp_bytes(img.xsave));
  out.setExePath(img.exe_path);
}

Status TraceWriter::write_counter_setup(const CounterSetup& setup, trace::ProgressCounterSetup::Builder out) {
  out.setCounterPage(kCounterPageAddr);
  out.setTextStart(setup.text_start);
  out.setTextEnd(setup.text_end);
  if (!setup.plan) return {};
  if (setup.image) {
    Result<std::string> rel = link_code_image(*setup.image);
    if (!rel.ok()) return rel.take_error();
    if (!rel.value().empty()) {
      out.setImage(rel.value());
      out.setImageStart(setup.image->start);
      out.setImageLength(setup.image->length);
      out.setImageOffset(setup.image->offset);
      out.setImageProt((uint32_t)setup.image->prot);
    }
  }
  if (setup.stubs_image) {
    Result<std::string> rel = link_code_image(*setup.stubs_image);
    if (!rel.ok()) return rel.take_error();
    if (!rel.value().empty()) {
      out.setStubsImage(rel.value());
      out.setStubsImageLength(setup.stubs_image->length);
    }
  }
  const RewritePlan& plan = *setup.plan;
  out.setStubBase(plan.stub_base);
  out.setCounted((uint32_t)plan.counted);
  out.setUncovered((uint32_t)plan.uncovered);
  // The store's file of this plan is linked in, not written (python3's
  // plans are 8 MB); without one (no store, another file system) the plan
  // is written in the store's layout, named by the hash of its contents.
  std::string rel;
  if (setup.file) {
    rel = "plans/" + setup.file->name;
    if (plans_.count(rel)) {
      out.setPlanFile(rel);
      return {};
    }
    if (plans_.empty()) RR_TRY(make_dirs(dir_ + "/plans"));
    // The sum goes first, as in write_part: linked under a temporary name,
    // listed, then renamed into place.
    std::string path = dir_ + "/" + rel, tmp = path + ".tmp";
    if (link(setup.file->path.c_str(), tmp.c_str()) == 0) {
      RR_TRY(append_sum(dir_, rel, PartSum{setup.file->sum, setup.file->size}));
      if (rename(tmp.c_str(), path.c_str()) != 0) return make_error("cannot rename " + tmp + ": " + errno_text());
      plans_.insert(rel);
      out.setPlanFile(rel);
      return {};
    }
  }
  std::string payload = serialize_plan(plan);
  XXH128_hash_t h = XXH3_128bits(payload.data(), payload.size());
  PlanKey key{h.low64, h.high64};
  rel = "plans/" + key.hex();
  if (!plans_.count(rel)) {
    if (plans_.empty()) RR_TRY(make_dirs(dir_ + "/plans"));
    std::string bytes = plan_file_bytes(key, payload);
    // The sum first, as write_part does; not synced, as the files/ copies
    // and the events are not until the end.
    RR_TRY(append_sum(dir_, rel, sum_bytes(bytes.data(), bytes.size())));
    std::string path = dir_ + "/" + rel, tmp = path + ".tmp";
    ScopedFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd.is_open()) return make_error("cannot create " + tmp + ": " + errno_text());
    RR_TRY(write_all(fd.get(), bytes.data(), bytes.size(), tmp));
    fd.reset();
    // Renamed into place: a reader following the recording never sees half.
    if (rename(tmp.c_str(), path.c_str()) != 0) return make_error("cannot rename " + tmp + ": " + errno_text());
    plans_.insert(rel);
  }
  out.setPlanFile(rel);
  return {};
}

Result<std::string> TraceWriter::link_code_image(const CodeImage& image) {
  std::string rel = "images/" + image.name;
  if (images_.count(rel)) return rel;
  if (images_.empty()) RR_TRY(make_dirs(dir_ + "/images"));
  // As a plan's: linked under a temporary name, listed, renamed into place.
  std::string path = dir_ + "/" + rel, tmp = path + ".tmp";
  unlink(tmp.c_str());
  if (link(image.path.c_str(), tmp.c_str()) != 0) {
    // Another file system: a copy (shared extents where the file system
    // can). A recording whose image went meanwhile (another recorder
    // trimmed the store) names none: its process mapped it, and replay
    // writes the same bytes.
    int link_errno = errno;
    ScopedFd in(::open(image.path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st;
    Status copied = in.is_open() && fstat(in.get(), &st) == 0
                        ? Status{}
                        : make_error("cannot link " + image.path + ": " + strerror(link_errno));
    if (copied.ok()) {
      ScopedFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
      copied = out.is_open() ? copy_sparse(in.get(), out.get(), (uint64_t)st.st_size, tmp)
                             : make_error("cannot create " + tmp + ": " + errno_text());
    }
    if (!copied.ok()) {
      unlink(tmp.c_str());
      RR_LOG("progress counter: the code image %s is not in the trace: %s", image.path.c_str(),
             copied.error().message.c_str());
      return std::string();
    }
  }
  // The store knows the file's sum when it checked or made it (the same
  // inode, linked); a copy, or an image from elsewhere, is read.
  struct stat linked;
  Result<PartSum> sum = image.file_size && stat(tmp.c_str(), &linked) == 0 && (uint64_t)linked.st_size == image.file_size
                            ? Result<PartSum>(PartSum{image.file_sum, image.file_size, false})
                            : sum_file(tmp);
  if (!sum.ok()) {
    unlink(tmp.c_str());
    return sum.take_error();
  }
  RR_TRY(append_sum(dir_, rel, sum.value()));
  if (rename(tmp.c_str(), path.c_str()) != 0) return make_error("cannot rename " + tmp + ": " + errno_text());
  images_.insert(rel);
  return rel;
}

Result<CounterSetup> TraceReader::counter_setup(trace::ProgressCounterSetup::Reader in) {
  CounterSetup setup;
  setup.text_start = in.getTextStart();
  setup.text_end = in.getTextEnd();
  // The trace's code images (format 1.23 on), checked against their sums.
  auto image = [&](const std::string& rel, uint64_t start, uint64_t length, uint64_t offset,
                   int prot) -> Result<CodeImage> {
    if (rel.rfind("images/", 0) != 0 || rel.size() != 7 + 32 ||
        rel.find_first_not_of("0123456789abcdef", 7) != std::string::npos)
      return make_error(ErrorKind::Corrupt, "trace is corrupt: a code image is named " + rel);
    if (Status sum = sums_.check_file(rel); !sum.ok())
      return sum.error().kind == ErrorKind::Corrupt ? sum.error() : make_error(ErrorKind::Corrupt, sum.error().message);
    // Where it goes: whole pages of code, not writable, that its trailer
    // names (the file holds them).
    bool pages = length > 0 && start % kPageSize == 0 && length % kPageSize == 0 && offset % kPageSize == 0 &&
                 start + length > start;
    if (!pages || (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) != 0 || !(prot & PROT_EXEC) || (prot & PROT_WRITE) ||
        !code_image_checks(dir_ + "/" + rel, rel.substr(7), offset, length, false))
      return make_error(ErrorKind::Corrupt, "trace is corrupt: the code image " + rel + " is not the mapping its event names");
    return CodeImage{dir_ + "/" + rel, rel.substr(7), start, length, offset, prot};
  };
  if (in.hasImage()) {
    Result<CodeImage> got = image(in.getImage(), in.getImageStart(), in.getImageLength(), in.getImageOffset(),
                                  (int)in.getImageProt());
    if (!got.ok()) return got.take_error();
    if (setup.text_start < got.value().start || setup.text_end > got.value().start + got.value().length ||
        setup.text_start > setup.text_end)
      return make_error(ErrorKind::Corrupt, "trace is corrupt: the code image " + std::string(in.getImage().cStr()) +
                                                " does not hold the code its event rewrites");
    setup.image = std::move(got.value());
  }
  if (in.hasStubsImage()) {
    Result<CodeImage> got =
        image(in.getStubsImage(), in.getStubBase(), in.getStubsImageLength(), 0, PROT_READ | PROT_EXEC);
    if (!got.ok()) return got.take_error();
    setup.stubs_image = std::move(got.value());
  }
  if (!in.hasPlanFile()) {  // format 1.20 and before: the plan is in the event
    auto plan = std::make_shared<RewritePlan>();
    plan->stub_base = in.getStubBase();
    plan->stubs = data_string(in.getStubs());
    for (auto p : in.getPatches()) plan->patches.push_back({p.getAddr(), data_string(p.getData())});
    plan->counted = in.getCounted();
    plan->uncovered = in.getUncovered();
    for (uint64_t site : in.getSpinSites()) plan->spin_sites.push_back(site);
    for (uint64_t site : in.getPollSites()) plan->poll_sites.push_back(site);
    setup.plan = std::move(plan);
    return setup;
  }
  std::string rel = in.getPlanFile();
  if (auto it = plans_.find(rel); it != plans_.end()) {
    setup.plan = it->second;
    plan_order_.erase(std::find(plan_order_.begin(), plan_order_.end(), rel));
    plan_order_.push_back(rel);
    return setup;
  }
  if (rel.rfind("plans/", 0) != 0 || rel.find("..") != std::string::npos)
    return make_error(ErrorKind::Corrupt, "trace is corrupt: a progress counter plan is named " + rel);
  // Mapped, and the plan a view of it (python3's is 4.7 MB: a read into a
  // string and the copies out of it took 8 ms of every replay of it); the
  // trace's plan files are never changed in place.
  Result<std::shared_ptr<const MappedFile>> mapped = MappedFile::open(dir_ + "/" + rel);
  if (!mapped.ok()) return make_error(ErrorKind::Corrupt, mapped.error().message);
  std::string_view bytes = mapped.value()->view();
  if (Status sum = sums_.check_bytes(rel, bytes.data(), bytes.size()); !sum.ok())
    return sum.error().kind == ErrorKind::Corrupt ? sum.error() : make_error(ErrorKind::Corrupt, sum.error().message);
  PlanKey key;
  std::string why;
  std::optional<RewritePlan> plan = parse_plan_file(bytes, &key, &why, mapped.value());
  if (!plan) return make_error(ErrorKind::Corrupt, "trace is corrupt: " + rel + " is no progress counter plan: " + why);
  if (plan->stub_base != in.getStubBase() || rel != "plans/" + key.hex())
    return make_error(ErrorKind::Corrupt, "trace is corrupt: " + rel + " is not the progress counter plan its event names");
  setup.plan = std::make_shared<const RewritePlan>(std::move(*plan));
  auto bytes_of = [](const RewritePlan& p) { return p.patches.raw().size() + p.stubs.size(); };
  plan_bytes_ += bytes_of(*setup.plan);
  plans_[rel] = setup.plan;
  plan_order_.push_back(rel);
  while (plan_bytes_ > kPlanBytesKept && plan_order_.size() > 1) {
    auto it = plans_.find(plan_order_.front());
    plan_bytes_ -= bytes_of(*it->second);
    plans_.erase(it);
    plan_order_.erase(plan_order_.begin());
  }
  return setup;
}

ProcessImage image_from_capnp(trace::ExecImage::Reader in) {
  ProcessImage img;
  for (auto b : in.getMappings()) {
    MappingRecord m;
    m.start = RemotePtr<>(b.getStart());
    m.end = RemotePtr<>(b.getEnd());
    m.prot = b.getProt();
    m.shared = b.getShared();
    m.offset = b.getOffset();
    m.name = b.getName();
    m.grows_down = b.getGrowsDown();
    m.noreserve = b.getNoReserve();
    m.pkey = b.getPkey();
    switch (b.getBacking().which()) {
      case trace::Mapping::Backing::ANONYMOUS: m.backing = Backing::Anonymous; break;
      case trace::Mapping::Backing::FILE:
        m.backing = Backing::File;
        m.file = b.getBacking().getFile();
        break;
      case trace::Mapping::Backing::SPECIAL: m.backing = Backing::Special; break;
    }
    img.mappings.push_back(std::move(m));
  }
  for (auto p : in.getPages()) img.pages.push_back(PageRecord{RemotePtr<>(p.getAddr()), data_string(p.getData())});
  auto mm = in.getMm();
  img.mm.start_code = RemotePtr<>(mm.getStartCode());
  img.mm.end_code = RemotePtr<>(mm.getEndCode());
  img.mm.start_data = RemotePtr<>(mm.getStartData());
  img.mm.end_data = RemotePtr<>(mm.getEndData());
  img.mm.start_brk = RemotePtr<>(mm.getStartBrk());
  img.mm.brk = RemotePtr<>(mm.getBrk());
  img.mm.start_stack = RemotePtr<>(mm.getStartStack());
  img.mm.arg_start = RemotePtr<>(mm.getArgStart());
  img.mm.arg_end = RemotePtr<>(mm.getArgEnd());
  img.mm.env_start = RemotePtr<>(mm.getEnvStart());
  img.mm.env_end = RemotePtr<>(mm.getEnvEnd());
  img.mm.auxv = data_string(mm.getAuxv());
  img.mm.exe_file = mm.getExeFile();
  img.regs = regs_from_capnp(in.getRegs());
  img.xsave = data_string(in.getXsave());
  img.exe_path = in.getExePath();
  return img;
}

Result<std::unique_ptr<TraceWriter>> TraceWriter::create(const std::string& dir) {
  if (mkdir(dir.c_str(), 0755) != 0) {
    if (errno != EEXIST) return make_error("cannot create trace directory " + dir + ": " + errno_text());
    DIR* d = opendir(dir.c_str());
    if (!d) return make_error("cannot open " + dir + ": " + errno_text());
    bool empty = true;
    while (dirent* e = readdir(d))
      if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = false;
    closedir(d);
    if (!empty) return make_error("trace directory " + dir + " already exists and is not empty");
  }
  std::string version = std::to_string(kTraceFormatMajor) + "\n";
  RR_TRY(write_file_atomic(dir + "/version", version.data(), version.size()));
  RR_ASSIGN_OR_RETURN(BlockStreamWriter events, BlockStreamWriter::create(dir + "/events", Codec::Zstd));
  return std::unique_ptr<TraceWriter>(new TraceWriter(dir, std::move(events)));
}

Status TraceWriter::write_header(capnp::MessageBuilder& header) {
  kj::Array<capnp::word> words = capnp::messageToFlatArray(header);
  auto b = words.asBytes();
  return write_part("header", b.begin(), b.size());
}

// The sum goes first: a reader of the trace while it is recorded that reads
// this version finds its line (TraceSums::check_bytes).
Status TraceWriter::write_part(const std::string& rel, const void* data, size_t len) {
  RR_TRY(append_sum(dir_, rel, sum_bytes(data, len)));
  return write_file_atomic(dir_ + "/" + rel, data, len);
}

// Serialized in place in the stream's pending block: a frame that carries a
// megabyte of syscall buffer records is copied once, with no fresh pages.
Status TraceWriter::write_frame(capnp::MessageBuilder& frame) {
  size_t len = capnp::computeSerializedSizeInWords(frame) * sizeof(capnp::word);
  return events_.append_filled(len, [&](uint8_t* out) {
    kj::ArrayOutputStream stream(kj::arrayPtr(out, len));
    capnp::writeMessage(stream, frame);
  });
}

Status TraceWriter::finish() { return events_.finish(); }

FrameData::FrameData(std::vector<uint8_t>& bytes) {
  words_ = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  memcpy(words_.begin(), bytes.data(), words_.size() * sizeof(capnp::word));
  reader_ = std::make_unique<capnp::FlatArrayMessageReader>(words_.asPtr(), big_reader_options());
  frame_ = reader_->getRoot<trace::Frame>();
}

Result<std::unique_ptr<TraceReader>> TraceReader::open(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) return make_error("no trace at " + dir + ": " + errno_text());
  if (!S_ISDIR(st.st_mode)) return make_error(ErrorKind::Corrupt, dir + " is not a trace directory");
  auto version = read_file(dir + "/version");
  if (!version.ok()) {
    struct stat vs;
    if (stat((dir + "/version").c_str(), &vs) != 0 && errno == ENOENT)
      return make_error(ErrorKind::Corrupt, dir + " is not a trace (no version file)");
    return version.take_error();  // there, but not readable (permissions): say why
  }
  char* end = nullptr;
  unsigned long major = strtoul(version.value().c_str(), &end, 10);
  if (end == version.value().c_str()) return make_error(ErrorKind::Corrupt, dir + " has a corrupt version file");
  if (major > kTraceFormatMajor)
    return make_error(ErrorKind::Corrupt, dir + " has trace format version " + std::to_string(major) + ", newer than this rr reads (" +
                      std::to_string(kTraceFormatMajor) + ")");
  auto header = read_file(dir + "/header");
  if (!header.ok()) return make_error(ErrorKind::Corrupt, dir + " is not a complete trace (no header)");
  RR_ASSIGN_OR_RETURN(BlockStreamReader events, BlockStreamReader::open(dir + "/events"));
  // The real path: replay maps files from it, and state prints paths relative to it.
  char real[PATH_MAX];
  std::string canonical = realpath(dir.c_str(), real) ? std::string(real) : dir;
  std::unique_ptr<TraceReader> r(new TraceReader(canonical, std::move(events)));
  const std::string& h = header.value();
  if (h.size() < 8 || h.size() % 8 != 0) return make_error(ErrorKind::Corrupt, dir + "/header is corrupt");
  r->header_words_ = kj::heapArray<capnp::word>(h.size() / 8);
  memcpy(r->header_words_.begin(), h.data(), h.size());
  try {
    r->header_reader_ = std::make_unique<capnp::FlatArrayMessageReader>(r->header_words_.asPtr());
    auto hdr = r->header();
    if (hdr.getFormatMajor() > kTraceFormatMajor)
      return make_error(ErrorKind::Corrupt, dir + " has trace format version " + std::to_string(hdr.getFormatMajor()) +
                        ", newer than this rr reads");
    if (hdr.getUuid().size() != 16) return make_error(ErrorKind::Corrupt, dir + "/header is corrupt (no trace id)");
    // Format 1.3 and later list every part of the trace with its sum.
    bool has_sums = hdr.getFormatMajor() > 1 || hdr.getFormatMinor() >= 3;
    RR_ASSIGN_OR_RETURN(r->sums_, TraceSums::load(r->dir_, has_sums));
  } catch (const kj::Exception& e) {
    return kj_error(e, ErrorKind::Corrupt, dir + "/header is corrupt: ");
  }
  RR_TRY(r->sums_.check_bytes("header", h.data(), h.size()));
  return r;
}

Result<std::string> TraceReader::read_part(const std::string& rel) {
  RR_ASSIGN_OR_RETURN(std::string text, read_file(dir_ + "/" + rel));
  RR_TRY(sums_.check_bytes(rel, text.data(), text.size()));
  return text;
}

std::string TraceReader::unfinished_message(uint64_t last_event) const {
  return "the trace " + dir_ + " ends after event " + std::to_string(last_event) +
         " without its end mark: its recording was interrupted (rr was killed) or the trace was cut short";
}

Result<std::optional<FrameData>> TraceReader::next() {
  RR_ASSIGN_OR_RETURN(bool more, events_.next(buf_));
  if (!more) return std::optional<FrameData>();
  if (buf_.size() % 8 != 0 || buf_.empty()) return make_error(ErrorKind::Corrupt, dir_ + "/events is corrupt (bad frame size)");
  try {
    std::optional<FrameData> f;
    f.emplace(buf_);
    (void)f->frame().which();
    return f;
  } catch (const kj::Exception& e) {
    return kj_error(e, ErrorKind::Corrupt, dir_ + "/events is corrupt: ");
  }
}

Result<std::optional<FrameData>> TraceReader::frame_before(StreamPos pos) {
  RR_ASSIGN_OR_RETURN(std::optional<StreamPos> at, events_.record_before(pos));
  if (!at) return std::optional<FrameData>();
  RR_TRY(events_.seek(*at));
  return next();
}

}  // namespace rr
