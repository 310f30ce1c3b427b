// The progress counter's plans kept on disk between recordings
// (core/plan_store.h): a plan reads back as it was written, a second
// recorder's cache finds it instead of planning, a damaged or foreign file
// is not used, and the store keeps at most its count of files, reading its
// folder only when it may hold more.
#include "core/plan_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include "plan_compare.h"
#include "scratch_dir.h"
#include <sys/mman.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "core/progress_counter.h"
#include "util/scoped_fd.h"

namespace rr {
namespace {

// A counted loop and a spin site (`jmp .`), then padding for islands.
const uint8_t kCode[] = {
    0x31, 0xc0,  // xor eax, eax
    0xff, 0xc0,  // L: inc eax
    0x39, 0xf8,  // cmp eax, edi
    0x7c, 0xfa,  // jl L
    0xeb, 0xfe,  // jmp .
    0xc3,        // ret
    0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
};
const std::string kCodeBytes(reinterpret_cast<const char*>(kCode), sizeof kCode);
constexpr uint64_t kAt = 0x401000;
const std::vector<AddrRange> kFunctions = {{kAt, kAt + sizeof kCode}};

// Every field, the store's placed plans included (blocks and their
// outward displacements, which the trace's plan file does not keep).
void expect_same(const RewritePlan& a, const RewritePlan& b) {
  expect_same_kept_plan(a, b);
  EXPECT_EQ(a.lean_stubs, b.lean_stubs);
  EXPECT_EQ(a.uncovered, b.uncovered);
  EXPECT_EQ(a.out_of_reach, b.out_of_reach);
  EXPECT_EQ(a.moved, b.moved);
  EXPECT_EQ(a.blocks_at, b.blocks_at);
  EXPECT_EQ(a.outward, b.outward);
}

// A folder of this test's own.
class TempDir : public ScratchDir {
 public:
  TempDir() : ScratchDir("rr-plan-store") {}
};

TEST(PlanStore, APlanReadsBackWhole) {
  RewritePlan plan = plan_branch_rewrite(kCode, sizeof kCode, kAt, kFunctions, 0x300000, 1 << 20, kCounterSlots);
  ASSERT_GT(plan.counted, 0u);
  ASSERT_EQ(plan.spin_sites.size(), 1u);
  // Every field, the ones this sample leaves empty too.
  plan.out_of_reach = 3;
  plan.moved = 4;
  plan.blocks_at = 5;
  plan.outward = {7, 9};
  plan.poll_sites = {kAt + 2 + kPollSiteTag};
  std::string bytes = serialize_plan(plan);
  std::optional<RewritePlan> back = parse_plan(bytes);
  ASSERT_TRUE(back);
  expect_same(plan, *back);
  EXPECT_FALSE(parse_plan(bytes.substr(0, bytes.size() - 1))) << "cut short";
  EXPECT_FALSE(parse_plan(bytes + "x")) << "a byte more";
  std::string huge = bytes;
  huge[7 * 8 + 7] = 0x40;  // the stubs' length, far beyond the file
  EXPECT_FALSE(parse_plan(huge));
}

// A plan's patches are kept flat, as the file holds them (PatchList): each
// record's length is checked against the end, and sorting keeps each
// patch's bytes with its address.
TEST(PlanStore, FlatPatchesReadBackAndSort) {
  PatchList list;
  list.push_back({0x2000, std::string("\xe9\x01\x02\x03\x04", 5)});
  list.push_back({0x1000, std::string("\x10", 1)});
  list.push_back({0x1800, std::string("\x01\x02\x03\x04", 4)});
  EXPECT_FALSE(list.is_sorted_by_address());
  PatchList sorted = list.sorted_by_address();
  ASSERT_EQ(sorted.size(), 3u);
  EXPECT_TRUE(sorted.is_sorted_by_address());
  EXPECT_EQ(sorted[0].addr, 0x1000u);
  EXPECT_EQ(sorted[0].bytes, std::string("\x10", 1));
  EXPECT_EQ(sorted[1].addr, 0x1800u);
  EXPECT_EQ(sorted[1].bytes, std::string("\x01\x02\x03\x04", 4));
  EXPECT_EQ(sorted[2].bytes, std::string("\xe9\x01\x02\x03\x04", 5));
  sorted.mutable_bytes(1)[0] = 9;
  EXPECT_EQ(sorted[1].bytes[0], 9);
  std::string_view raw = list.raw();
  EXPECT_EQ(raw.size(), 3 * 16 + 10u);
  const char* p = raw.data();
  std::optional<PatchList> back = PatchList::parse(&p, raw.data() + raw.size(), 3);
  ASSERT_TRUE(back);
  EXPECT_EQ(p, raw.data() + raw.size());
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[2].addr, 0x1800u);
  EXPECT_EQ((*back)[0].bytes, list[0].bytes);
  p = raw.data();
  EXPECT_FALSE(PatchList::parse(&p, raw.data() + raw.size() - 1, 3)) << "the last record cut short";
  p = raw.data();
  EXPECT_FALSE(PatchList::parse(&p, raw.data() + raw.size(), 4)) << "a record more than there is";
  std::string huge(raw);
  huge[8 + 7] = 0x40;  // the first record's length, far beyond the end
  p = huge.data();
  EXPECT_FALSE(PatchList::parse(&p, huge.data() + huge.size(), 3));
}

TEST(PlanStore, ASecondRecorderFindsThePlan) {
  TempDir dir;
  PlanCache first;
  first.keep_in(PlanStore(dir.path()));
  RewritePlan made = first.plan(kCodeBytes, kAt, kFunctions, true);
  EXPECT_EQ(first.made(), 1u);
  EXPECT_EQ(first.loaded(), 0u);
  EXPECT_EQ(dir.files(), 1u);

  PlanCache second;
  second.keep_in(PlanStore(dir.path()));
  expect_same(made, second.plan(kCodeBytes, kAt, kFunctions, true));
  EXPECT_EQ(second.made(), 0u);
  EXPECT_EQ(second.loaded(), 1u);

  // Any of the key's parts changed is another plan.
  std::string other_code = kCodeBytes;
  other_code[1] = 0xc9;  // xor ecx, ecx
  second.plan(other_code, kAt, kFunctions, true);
  second.plan(kCodeBytes, kAt + 0x1000, {{kAt + 0x1000, kAt + 0x1000 + sizeof kCode}}, true);
  second.plan(kCodeBytes, kAt, kFunctions, false);
  second.plan(kCodeBytes, kAt, {{kAt, kAt + 8}}, true);
  EXPECT_EQ(second.made(), 4u);
  EXPECT_EQ(dir.files(), 5u);
}

// A plan read from the store is a view of its mapped file (no copy): a
// relocation or a change to a copy of it changes neither the plan read nor
// the file (mapped read-only, a write into it would fault), and the plan
// stays whole after its file is removed.
TEST(PlanStore, APlanReadFromItsFileChangesOnlyAsACopy) {
  TempDir dir;
  PlanStore store(dir.path());
  RewritePlan plan = plan_branch_rewrite(kCode, sizeof kCode, kAt, kFunctions, 0x300000, 1 << 20, kCounterSlots);
  ASSERT_GT(plan.patches.size(), 0u);
  ASSERT_GT(plan.stubs.size(), 0u);
  PlanKey key = plan_key(kCodeBytes, kAt, kFunctions, true);
  std::optional<StoredPlanFile> file = store.store(key, plan);
  ASSERT_TRUE(file);
  std::string before;
  {
    std::ifstream in(file->path, std::ios::binary);
    before.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::optional<RewritePlan> loaded = store.load(key);
  ASSERT_TRUE(loaded);
  expect_same(plan, *loaded);
  // Its stubs are in the file's mapping, not a copy.
  {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    bool inside = false;
    auto at = reinterpret_cast<uintptr_t>(loaded->stubs.data());
    while (std::getline(maps, line)) {
      if (line.find(file->path) == std::string::npos) continue;
      unsigned long start = 0, end = 0;
      ASSERT_EQ(sscanf(line.c_str(), "%lx-%lx", &start, &end), 2);
      inside = inside || (at >= start && at + loaded->stubs.size() <= end);
    }
    EXPECT_TRUE(inside) << "the loaded plan's stubs are not in the mapping of " << file->path;
  }

  std::optional<RewritePlan> moved = relocate_plan(*loaded, 0x310000, kCounterSlots);
  ASSERT_TRUE(moved);
  EXPECT_NE(moved->stubs, loaded->stubs) << "the stubs' jumps back moved";
  RewritePlan changed = *loaded;
  changed.patches.mutable_bytes(0)[0] ^= 1;
  changed.stubs.own()[0] ^= 1;
  EXPECT_NE(changed.patches[0].bytes, loaded->patches[0].bytes);
  EXPECT_NE(changed.stubs, loaded->stubs);
  expect_same(plan, *loaded);
  {
    std::ifstream in(file->path, std::ios::binary);
    std::string after(std::istreambuf_iterator<char>(in), {});
    EXPECT_EQ(after, before) << "the store's file is as it was written";
  }

  ASSERT_EQ(unlink(file->path.c_str()), 0);
  expect_same(plan, *loaded);
  EXPECT_EQ(serialize_plan(*loaded), serialize_plan(plan));
}

TEST(PlanStore, ADamagedFileIsMadeAgain) {
  TempDir dir;
  PlanStore store(dir.path());
  PlanKey key = plan_key(kCodeBytes, kAt, kFunctions, true);
  PlanCache plain;  // no store: the plan a recorder makes
  RewritePlan plan = plain.plan(kCodeBytes, kAt, kFunctions, true);
  store.store(key, plan);
  std::string path = dir.path() + "/" + key.hex();
  ASSERT_TRUE(store.load(key));
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-1, std::ios::end);
    f.put('\x55');
  }
  EXPECT_FALSE(store.load(key)) << "a byte changed";
  PlanCache cache;
  cache.keep_in(PlanStore(dir.path()));
  expect_same(plan, cache.plan(kCodeBytes, kAt, kFunctions, true));
  EXPECT_EQ(cache.made(), 1u);
  EXPECT_TRUE(store.load(key)) << "written again";
  // A file under another key's name is not that key's plan.
  PlanKey other = key;
  other.low ^= 1;
  std::filesystem::copy_file(path, dir.path() + "/" + other.hex());
  EXPECT_FALSE(store.load(other));
  EXPECT_FALSE(PlanStore("").load(key)) << "no store";
}

// The store keeps plans moved to where their stubs go too: a later
// recording that finds one reads neither the plan it was moved from nor
// moves it again, and its trace links the placed plan's file.
TEST(PlanStore, APlacedPlanIsFoundWithoutThePlanItWasMovedFrom) {
  TempDir dir;
  uint64_t where = 0x200000;
  auto room = [&](uint64_t need) {
    EXPECT_GE(need, kPageSize);
    return where;
  };
  PlanCache plain;  // no store
  std::optional<RewritePlan> want =
      relocate_plan(plain.plan(kCodeBytes, kAt, kFunctions, true), where, kCounterSlots);
  ASSERT_TRUE(want);

  PlanCache first;
  first.keep_in(PlanStore(dir.path()));
  PlanCache::Placed a = first.place(kCodeBytes, kAt, kFunctions, true, room);
  ASSERT_TRUE(a.plan);
  ASSERT_TRUE(a.file);
  EXPECT_EQ(a.base, where);
  expect_same(*want, *a.plan);
  EXPECT_EQ(first.made(), 1u);
  EXPECT_EQ(dir.files(), 2u) << "the plan and its placed one";
  std::ifstream in(a.file->path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.size(), a.file->size);
  PlanKey key;
  std::string why;
  std::optional<RewritePlan> back = parse_plan_file(bytes, &key, &why);
  ASSERT_TRUE(back) << why;
  expect_same(*want, *back);
  EXPECT_EQ(key.hex(), a.file->name);

  // The plan it was moved from is damaged: a second recorder does not read it.
  std::string near_path = dir.path() + "/" + plan_key(kCodeBytes, kAt, kFunctions, true).hex();
  {
    std::fstream f(near_path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-1, std::ios::end);
    f.put('\x55');
  }
  PlanCache second;
  second.keep_in(PlanStore(dir.path()));
  PlanCache::Placed b = second.place(kCodeBytes, kAt, kFunctions, true, room);
  ASSERT_TRUE(b.plan);
  expect_same(*want, *b.plan);
  EXPECT_EQ(second.made(), 0u);
  EXPECT_EQ(second.loaded(), 1u);
  // Elsewhere, the plan is moved again, from a plan made again.
  where = 0x100000;
  PlanCache::Placed c = second.place(kCodeBytes, kAt, kFunctions, true, room);
  ASSERT_TRUE(c.plan);
  EXPECT_EQ(c.plan->stub_base, where);
  EXPECT_EQ(second.made(), 1u);
  // No room: nothing placed.
  where = 0;
  EXPECT_EQ(second.place(kCodeBytes, kAt, kFunctions, true, room).base, 0u);
}

// The test code, counting how often it is read.
std::function<const std::string&()> code_counting(size_t& reads) {
  return [&reads]() -> const std::string& {
    ++reads;
    return kCodeBytes;
  };
}

// A settled file's code is named by the file's identity (plan_key_of_file):
// a second recorder that finds its placed plan in the store does not read
// the code; another identity (the file changed) is another plan, planned
// from the code read then.
TEST(PlanStore, ASettledFilesPlanIsFoundWithoutItsCode) {
  TempDir dir;
  auto room = [](uint64_t) { return (uint64_t)0x200000; };
  PlanKey file{0x1234, 0x5678};
  PlanKey file_key = plan_key_of_file(file, kAt, kCodeBytes.size(), kFunctions, true);
  EXPECT_FALSE(file_key == plan_key_of_file(file, kAt + 0x1000, kCodeBytes.size(), kFunctions, true));
  EXPECT_FALSE(file_key == plan_key_of_file(PlanKey{0x1234, 0x5679}, kAt, kCodeBytes.size(), kFunctions, true));
  size_t reads = 0;
  auto code = code_counting(reads);
  PlanCache first;
  first.keep_in(PlanStore(dir.path()));
  PlanCache::Placed a = first.place(code, file_key, kAt, kFunctions, true, room);
  ASSERT_TRUE(a.plan);
  EXPECT_EQ(first.made(), 1u);
  EXPECT_GE(reads, 1u) << "planned from the code";
  reads = 0;
  PlanCache second;
  second.keep_in(PlanStore(dir.path()));
  PlanCache::Placed b = second.place(code, file_key, kAt, kFunctions, true, room);
  ASSERT_TRUE(b.plan);
  expect_same(*a.plan, *b.plan);
  EXPECT_EQ(second.made(), 0u);
  EXPECT_EQ(reads, 0u) << "the stored plan was found by the file's identity";
  PlanCache third;
  third.keep_in(PlanStore(dir.path()));
  PlanKey changed = plan_key_of_file(PlanKey{0x1234, 0x5679}, kAt, kCodeBytes.size(), kFunctions, true);
  PlanCache::Placed c = third.place(code, changed, kAt, kFunctions, true, room);
  ASSERT_TRUE(c.plan);
  EXPECT_EQ(third.made(), 1u);
  EXPECT_GE(reads, 1u);
}

// Code whose stubs find no room is not rewritten; when the store knows
// its stubs' size, that is known without reading the code or its plan
// (both were read at every exec of cc1, before its stubs could go above
// it).
TEST(PlanStore, NoRoomForAStoredPlansStubsNeedsNoCode) {
  TempDir dir;
  PlanKey file_key = plan_key_of_file(PlanKey{0x1234, 0x5678}, kAt, kCodeBytes.size(), kFunctions, true);
  size_t reads = 0;
  auto code = code_counting(reads);
  PlanCache first;
  first.keep_in(PlanStore(dir.path()));
  ASSERT_TRUE(first.place(code, file_key, kAt, kFunctions, true, [](uint64_t) { return (uint64_t)0x200000; }).plan);
  reads = 0;
  PlanCache second;
  second.keep_in(PlanStore(dir.path()));
  uint64_t asked = 0;
  PlanCache::Placed none = second.place(code, file_key, kAt, kFunctions, true, [&](uint64_t need) {
    asked = need;
    return (uint64_t)0;
  });
  EXPECT_EQ(none.base, 0u);
  EXPECT_FALSE(none.plan);
  EXPECT_GT(asked, 0u);
  EXPECT_EQ(none.need, asked);
  EXPECT_EQ(reads, 0u) << "the code was read to learn there is no room";
  EXPECT_EQ(second.loaded(), 0u) << "a plan was read to learn there is no room";
}

TEST(PlanStore, KeepsThePlansUsedLast) {
  TempDir dir;
  // A store of fewer files than kMaxFiles: each store reads the folder.
  const size_t full = 300;
  PlanStore store(dir.path(), PlanStore::kMaxBytes, full);
  RewritePlan plan = plan_branch_rewrite(kCode, sizeof kCode, kAt, kFunctions, 0x300000, 1 << 20, kCounterSlots);
  for (size_t i = 0; i < full; ++i) {
    store.store(PlanKey{i, 0}, plan);
    // Used one second after another, long ago.
    timespec times[2] = {{(time_t)(1000 + i), 0}, {(time_t)(1000 + i), 0}};
    ASSERT_EQ(utimensat(AT_FDCWD, (dir.path() + "/" + PlanKey{i, 0}.hex()).c_str(), times, 0), 0);
  }
  EXPECT_EQ(dir.files(), full);
  ASSERT_TRUE(store.load(PlanKey{0, 0}));  // the oldest, used now
  for (size_t i = full; i < full + 3; ++i) store.store(PlanKey{i, 0}, plan);
  EXPECT_EQ(dir.files(), full);
  EXPECT_TRUE(store.load(PlanKey{0, 0}));
  for (size_t i = 1; i <= 3; ++i) EXPECT_FALSE(store.load(PlanKey{i, 0})) << i;
  for (size_t i = 4; i < full + 3; i += 97) EXPECT_TRUE(store.load(PlanKey{i, 0})) << i;
  EXPECT_TRUE(store.load(PlanKey{full + 2, 0}));
}

// The folder is read (a stat per file) at a store's first write, and then
// only once the files it wrote since may take it past its count: files
// another recording added meanwhile stay until then, and go then.
TEST(PlanStore, ReadsItsFolderOnlyWhenItMayBeFull) {
  TempDir dir;
  PlanStore store(dir.path(), PlanStore::kMaxBytes, 10);
  RewritePlan plan = plan_branch_rewrite(kCode, sizeof kCode, kAt, kFunctions, 0x300000, 1 << 20, kCounterSlots);
  for (uint64_t i = 0; i < 5; ++i) store.store(PlanKey{i, 0}, plan);
  PlanStore other(dir.path(), PlanStore::kMaxBytes, 1000);
  for (uint64_t i = 100; i < 120; ++i) other.store(PlanKey{i, 0}, plan);
  EXPECT_EQ(dir.files(), 25u);
  for (uint64_t i = 5; i < 10; ++i) store.store(PlanKey{i, 0}, plan);
  EXPECT_EQ(dir.files(), 30u) << "ten files written by this store: not past its count, the folder not read";
  store.store(PlanKey{10, 0}, plan);
  EXPECT_EQ(dir.files(), 10u) << "the eleventh: the folder read and trimmed";
  EXPECT_TRUE(store.load(PlanKey{10, 0}));
}

TEST(PlanStore, KeepsItsBytesBelowItsCap) {
  TempDir dir;
  RewritePlan plan = plan_branch_rewrite(kCode, sizeof kCode, kAt, kFunctions, 0x300000, 1 << 20, kCounterSlots);
  PlanStore probe(dir.path());
  probe.store(PlanKey{99, 0}, plan);
  struct stat st;
  ASSERT_EQ(stat((dir.path() + "/" + PlanKey{99, 0}.hex()).c_str(), &st), 0);
  ASSERT_EQ(unlink((dir.path() + "/" + PlanKey{99, 0}.hex()).c_str()), 0);
  uint64_t size = (uint64_t)st.st_size;
  // Room for three files and a half.
  PlanStore store(dir.path(), size * 7 / 2);
  for (size_t i = 0; i < 6; ++i) {
    store.store(PlanKey{i, 0}, plan);
    timespec times[2] = {{(time_t)(1000 + i), 0}, {(time_t)(1000 + i), 0}};
    ASSERT_EQ(utimensat(AT_FDCWD, (dir.path() + "/" + PlanKey{i, 0}.hex()).c_str(), times, 0), 0);
  }
  EXPECT_EQ(dir.files(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_FALSE(store.load(PlanKey{i, 0})) << i;
  for (size_t i = 3; i < 6; ++i) EXPECT_TRUE(store.load(PlanKey{i, 0})) << i;
  // A cap below one file keeps the file just written.
  PlanStore tiny(dir.path(), 1);
  tiny.store(PlanKey{7, 0}, plan);
  EXPECT_EQ(dir.files(), 1u);
  EXPECT_TRUE(tiny.load(PlanKey{7, 0}));
}

TEST(PlanStore, CodeFactsReadBackWholeAndDamagedOnesAreNotRead) {
  TempDir dir;
  PlanStore store(dir.path());
  CodeFacts facts{{0x1000, 0x800, 0x4000}, {{0x1000, 0x1200}, {0x1240, 0x5000}}, true, {0x900, 0x2345}};
  store.store_facts(PlanKey{5, 6}, facts);
  std::optional<CodeFacts> back = store.load_facts(PlanKey{5, 6});
  ASSERT_TRUE(back);
  EXPECT_EQ(back->text.addr, facts.text.addr);
  EXPECT_EQ(back->text.offset, facts.text.offset);
  EXPECT_EQ(back->text.size, facts.text.size);
  EXPECT_EQ(back->functions, facts.functions);
  EXPECT_EQ(back->go, facts.go);
  EXPECT_EQ(back->random_sites, facts.random_sites);
  // Not a plan, and no plan reads as facts.
  EXPECT_FALSE(store.load(PlanKey{5, 6}));
  RewritePlan plan = plan_branch_rewrite(kCode, sizeof kCode, kAt, kFunctions, 0x300000, 1 << 20, kCounterSlots);
  store.store(PlanKey{7, 8}, plan);
  EXPECT_FALSE(store.load_facts(PlanKey{7, 8}));
  // One byte of the payload changed: not read.
  std::string path = dir.path() + "/" + PlanKey{5, 6}.hex();
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-3, std::ios::end);
    f.put('\x7f');
  }
  EXPECT_FALSE(store.load_facts(PlanKey{5, 6}));
}

TEST(PlanStore, CodeFactsAreKeptByTheFilesIdentityOnceItsTimesAreSettled) {
  TempDir dir;
  std::string file = dir.path() + "/code";
  { std::ofstream(file) << std::string(8192, 'c'); }
  ScopedFd fd(open(file.c_str(), O_RDWR));
  ASSERT_TRUE(fd.is_open());
  struct stat st;
  ASSERT_EQ(fstat(fd.get(), &st), 0);
  // Just written: its pages wait for writeback.
  EXPECT_FALSE(settled_file(fd.get(), st, 0));
  ASSERT_EQ(fsync(fd.get()), 0);
  EXPECT_TRUE(settled_file(fd.get(), st, 0));
  // Its ctime is now, whatever its mtime says.
  timespec old[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(futimens(fd.get(), old), 0);
  struct stat dated;
  ASSERT_EQ(fstat(fd.get(), &dated), 0);
  EXPECT_FALSE(settled_file(fd.get(), dated, 10));
  EXPECT_TRUE(settled_file(fd.get(), dated, 0));
  EXPECT_FALSE(code_facts_key(st) == code_facts_key(dated));  // the mtime moved
  EXPECT_FALSE(code_facts_key(st, "\x01\x02") == code_facts_key(st, "\x01\x03"));  // another build id
  // A write through a shared mapping dirties a page: not settled, whatever
  // the times say, until the page is written back.
  void* map = mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  ASSERT_NE(map, MAP_FAILED);
  static_cast<char*>(map)[4096] = 'd';
  struct stat mapped;
  ASSERT_EQ(fstat(fd.get(), &mapped), 0);
  EXPECT_FALSE(settled_file(fd.get(), mapped, 0));
  ASSERT_EQ(msync(map, 8192, MS_SYNC), 0);
  EXPECT_TRUE(settled_file(fd.get(), mapped, 0));
  munmap(map, 8192);
  { std::ofstream(file, std::ios::app) << "more"; }
  struct stat grown;
  ASSERT_EQ(stat(file.c_str(), &grown), 0);
  EXPECT_FALSE(code_facts_key(grown) == code_facts_key(dated));

  // A real program's facts (python3's files are old): a second recorder's
  // cache reads the first one's from the store, and they are the ones read
  // from the file.
  const char* exe = "/usr/bin/python3";
  struct stat py;
  ScopedFd pyfd(open(exe, O_RDONLY));
  ASSERT_TRUE(pyfd.is_open());
  ASSERT_EQ(fstat(pyfd.get(), &py), 0);
  ASSERT_TRUE(settled_file(pyfd.get(), py, PlanCache::kSettledSeconds));
  PlanCache fresh;
  Result<PlanCache::CodeFile> read = fresh.code_file(exe);
  ASSERT_TRUE(read.ok());
  TempDir stored;
  PlanCache first, second;
  first.keep_in(PlanStore(stored.path()));
  second.keep_in(PlanStore(stored.path()));
  ASSERT_TRUE(first.code_file(exe).ok());
  std::string build_id = elf_build_id(pyfd.get());
  EXPECT_FALSE(build_id.empty()) << "Debian's python3 has a build id";
  ASSERT_TRUE(PlanStore(stored.path()).load_facts(code_facts_key(py, build_id)));
  EXPECT_FALSE(PlanStore(stored.path()).load_facts(code_facts_key(py))) << "kept under the build id too";
  EXPECT_EQ(first.facts_loaded(), 0u);
  Result<PlanCache::CodeFile> again = second.code_file(exe);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(second.facts_loaded(), 1u);
  EXPECT_EQ(again.value().text.offset, read.value().text.offset);
  EXPECT_EQ(again.value().text.size, read.value().text.size);
  EXPECT_EQ(again.value().functions, read.value().functions);
  EXPECT_EQ(again.value().go, read.value().go);
  EXPECT_EQ(again.value().random_sites, read.value().random_sites);
  EXPECT_GT(read.value().functions.size(), 1000u);
  // With a build id, the identity also names the plans of its code.
  ASSERT_TRUE(again.value().settled);
  EXPECT_TRUE(*again.value().settled == code_facts_key(py, build_id));
}

TEST(PlanStore, WhereRecordingsKeepThem) {
  const char* saved[3] = {getenv("RR_PLAN_CACHE"), getenv("XDG_CACHE_HOME"), getenv("HOME")};
  std::string keep[3];
  for (int i = 0; i < 3; ++i) keep[i] = saved[i] ? saved[i] : "";
  setenv("HOME", "/home/u", 1);
  unsetenv("XDG_CACHE_HOME");
  unsetenv("RR_PLAN_CACHE");
  EXPECT_EQ(PlanStore::default_dir(), "/home/u/.cache/rr/plans");
  setenv("XDG_CACHE_HOME", "/c", 1);
  EXPECT_EQ(PlanStore::default_dir(), "/c/rr/plans");
  setenv("RR_PLAN_CACHE", "/p", 1);
  EXPECT_EQ(PlanStore::default_dir(), "/p");
  setenv("RR_PLAN_CACHE", "off", 1);
  EXPECT_EQ(PlanStore::default_dir(), "");
  const char* names[3] = {"RR_PLAN_CACHE", "XDG_CACHE_HOME", "HOME"};
  for (int i = 0; i < 3; ++i) saved[i] ? (void)setenv(names[i], keep[i].c_str(), 1) : (void)unsetenv(names[i]);
}

}  // namespace
}  // namespace rr
