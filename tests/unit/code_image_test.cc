// Code images (core/code_image.h): an image is its file with the mapping's
// part patched, and maps to what writing the patches gives; a second store finds it without making it
// again; a damaged image is made again; a file that is not the one the key
// names, a mapping past its end or a patch outside it get no image; the
// stubs' image is the stubs and zeros.
#include "core/code_image.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstdlib>
#include <string>

#include "core/elf_code.h"
#include "scratch_dir.h"
#include "util/scoped_fd.h"

namespace rr {
namespace {

constexpr uint64_t kMapAt = 0x7f0000000000;

std::string pattern(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 1103515245 + 12345;
    s[i] = (char)(seed >> 16);
  }
  return s;
}

struct Fixture {
  ScratchDir dir{"rr-code-image"};
  std::string file = dir.path() + "/lib.so";
  std::string contents = pattern(5 * kPageSize + 100, 7);  // five pages and 100 bytes of a sixth
  PlanKey settled;
  RewritePlan plan;
  MapEntry m;

  Fixture() {
    ScopedFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
    EXPECT_EQ(write(fd.get(), contents.data(), contents.size()), (ssize_t)contents.size());
    fd.reset();
    settled = key_of(file);
    m.start = RemotePtr<>(kMapAt);
    m.end = RemotePtr<>(kMapAt + 4 * kPageSize);  // file pages 1 to 4
    m.offset = kPageSize;
    m.prot = PROT_READ | PROT_EXEC;
    m.name = file;
    plan.patches.push_back({kMapAt + 10, "\xe9\x01\x02\x03\x04"});
    plan.patches.push_back({kMapAt + 4 * kPageSize - 3, "\xaa\xbb\xcc"});  // the mapping's last bytes
    plan.stub_base = kMapAt - 2 * kPageSize;
    plan.stubs = std::string("\x48\x83\x2c\x25", 4) + pattern(5000, 3);
  }
  static PlanKey key_of(const std::string& path) {
    ScopedFd fd(::open(path.c_str(), O_RDONLY));
    struct stat st;
    EXPECT_EQ(fstat(fd.get(), &st), 0);
    return code_facts_key(st, elf_build_id(fd.get()));
  }
  // What writing the patches into a fresh mapping gives.
  std::string patched() const {
    std::string want = contents.substr(m.offset, 4 * kPageSize);
    for (size_t i = 0; i < plan.patches.size(); ++i) {
      PatchList::Ref p = plan.patches[i];
      want.replace(p.addr - kMapAt, p.bytes.size(), p.bytes);
    }
    return want;
  }
};

// The bytes a private mapping of the image shows at its offset.
std::string mapped(const CodeImage& image) {
  ScopedFd fd(::open(image.path.c_str(), O_RDONLY));
  EXPECT_TRUE(fd.is_open());
  void* p = mmap(nullptr, image.length, PROT_READ, MAP_PRIVATE, fd.get(), (off_t)image.offset);
  EXPECT_NE(p, MAP_FAILED);
  if (p == MAP_FAILED) return {};
  std::string s(static_cast<const char*>(p), image.length);
  munmap(p, image.length);
  return s;
}

TEST(CodeImage, MapsToThePatchedBytesAtTheFilesOffset) {
  Fixture f;
  CodeImageStore store(f.dir.path() + "/plans");
  std::optional<CodeImage> image = store.image_for(f.file, f.settled, f.m, f.plan, "plan0");
  ASSERT_TRUE(image);
  char* real = realpath(f.dir.path().c_str(), nullptr);
  ASSERT_TRUE(real);
  EXPECT_EQ(image->path, std::string(real) + "/plans/images/" + image->name);
  free(real);
  EXPECT_EQ(image->start, kMapAt);
  EXPECT_EQ(image->length, 4 * kPageSize);
  EXPECT_EQ(image->offset, kPageSize);
  EXPECT_EQ(image->prot, PROT_READ | PROT_EXEC);
  EXPECT_EQ(mapped(*image), f.patched());
  EXPECT_TRUE(code_image_checks(image->path, image->name, kPageSize, 4 * kPageSize, true));
  // The file is the original with its code rewritten: the bytes before the
  // mapping (the ELF header, in a real file) are the file's.
  {
    ScopedFd fd(::open(image->path.c_str(), O_RDONLY));
    std::string head(kPageSize, '\0');
    ASSERT_EQ(pread(fd.get(), head.data(), head.size(), 0), (ssize_t)head.size());
    EXPECT_EQ(head, f.contents.substr(0, kPageSize));
  }
  // The whole file's sum, for the trace's sums line, from the store that
  // made it and from one that checked it.
  {
    ScopedFd fd(::open(image->path.c_str(), O_RDONLY));
    struct stat st;
    ASSERT_EQ(fstat(fd.get(), &st), 0);
    std::string all(st.st_size, '\0');
    ASSERT_EQ(pread(fd.get(), all.data(), all.size(), 0), (ssize_t)all.size());
    EXPECT_EQ(image->file_size, (uint64_t)st.st_size);
    EXPECT_EQ(image->file_sum, XXH3_64bits(all.data(), all.size()));
    std::optional<CodeImage> found = CodeImageStore(f.dir.path() + "/plans").image_for(f.file, f.settled, f.m, f.plan, "plan0");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->file_sum, image->file_sum);
    EXPECT_EQ(found->file_size, image->file_size);
  }
  EXPECT_EQ(store.image_named(image->path), image->name);
  EXPECT_FALSE(store.image_named(f.file));
  EXPECT_FALSE(store.image_named(image->path + "x"));
  // Replaced or trimmed while mapped: the same name.
  EXPECT_EQ(store.image_named(image->path + " (deleted)"), image->name);
  // The same name from the same inputs, another for another place.
  EXPECT_EQ(image->name, code_image_key(f.settled, "plan0", f.m).hex());
  MapEntry elsewhere = f.m;
  elsewhere.start = RemotePtr<>(kMapAt + kPageSize);
  elsewhere.end = RemotePtr<>(kMapAt + 5 * kPageSize);
  EXPECT_NE(code_image_key(f.settled, "plan0", elsewhere).hex(), image->name);
  EXPECT_NE(code_image_key(f.settled, "plan1", f.m).hex(), image->name);

  // Pages 2 to 5, the last of them mostly past the file's end: zeros there,
  // as the mapping of the file shows them.
  MapEntry tail = f.m;
  tail.offset = 2 * kPageSize;
  RewritePlan none;
  std::optional<CodeImage> last = store.image_for(f.file, f.settled, tail, none, "plan0");
  ASSERT_TRUE(last);
  std::string want = f.contents.substr(2 * kPageSize);
  want.resize(4 * kPageSize, '\0');
  EXPECT_EQ(mapped(*last), want);
}

TEST(CodeImage, AnotherStoreFindsItAndADamagedOneIsMadeAgain) {
  Fixture f;
  std::optional<CodeImage> first = CodeImageStore(f.dir.path()).image_for(f.file, f.settled, f.m, f.plan, "p");
  ASSERT_TRUE(first);
  struct stat made, found;
  ASSERT_EQ(stat(first->path.c_str(), &made), 0);
  std::optional<CodeImage> again = CodeImageStore(f.dir.path()).image_for(f.file, f.settled, f.m, f.plan, "p");
  ASSERT_TRUE(again);
  ASSERT_EQ(stat(again->path.c_str(), &found), 0);
  EXPECT_EQ(found.st_ino, made.st_ino) << "a good image is used as it is";

  // One byte of the patched part changed: it no longer checks, and the next
  // store makes it again.
  ASSERT_EQ(chmod(first->path.c_str(), 0644), 0);
  {
    ScopedFd fd(::open(first->path.c_str(), O_WRONLY));
    ASSERT_EQ(pwrite(fd.get(), "X", 1, (off_t)(kPageSize + 100)), 1);
  }
  EXPECT_FALSE(code_image_checks(first->path, first->name, kPageSize, 4 * kPageSize, true));
  EXPECT_TRUE(code_image_checks(first->path, first->name, kPageSize, 4 * kPageSize, false))
      << "without its sum only the trailer is checked";
  std::optional<CodeImage> remade = CodeImageStore(f.dir.path()).image_for(f.file, f.settled, f.m, f.plan, "p");
  ASSERT_TRUE(remade);
  EXPECT_EQ(mapped(*remade), f.patched());
  EXPECT_TRUE(code_image_checks(remade->path, remade->name, kPageSize, 4 * kPageSize, true));

  // Cut short (a crash while it was written, before the rename): not used.
  ASSERT_EQ(chmod(remade->path.c_str(), 0644), 0);
  ASSERT_EQ(truncate(remade->path.c_str(), (off_t)(kPageSize + 10)), 0);
  EXPECT_FALSE(code_image_checks(remade->path, remade->name, kPageSize, 4 * kPageSize, false));
  // Checked against another name's key, or another place: not that image.
  std::optional<CodeImage> whole = CodeImageStore(f.dir.path()).image_for(f.file, f.settled, f.m, f.plan, "p");
  ASSERT_TRUE(whole);
  EXPECT_FALSE(code_image_checks(whole->path, std::string(32, '0'), kPageSize, 4 * kPageSize, false));
  EXPECT_FALSE(code_image_checks(whole->path, whole->name, 2 * kPageSize, 4 * kPageSize, false));
  EXPECT_FALSE(code_image_checks(whole->path, whole->name, kPageSize, 5 * kPageSize, false));
}

TEST(CodeImage, NoImageWhereItCouldDiffer) {
  Fixture f;
  CodeImageStore store(f.dir.path());
  // The file changed since its key was taken (another identity).
  PlanKey other = f.settled;
  other.low ^= 1;
  EXPECT_FALSE(store.image_for(f.file, other, f.m, f.plan, "p"));
  // A mapping with a page wholly past the file's end (a SIGBUS there, not
  // zeros).
  MapEntry past = f.m;
  past.end = RemotePtr<>(kMapAt + 6 * kPageSize);
  EXPECT_FALSE(store.image_for(f.file, f.settled, past, f.plan, "p"));
  // A patch that lies partly outside the mapping.
  RewritePlan outside = f.plan;
  outside.patches.push_back({kMapAt + 4 * kPageSize - 2, "\x01\x02\x03"});
  EXPECT_FALSE(store.image_for(f.file, f.settled, f.m, outside, "q"));
  // No store: no image.
  EXPECT_FALSE(CodeImageStore().image_for(f.file, f.settled, f.m, f.plan, "p"));
}

TEST(CodeImage, TheStubsImageIsTheStubsThenZeros) {
  Fixture f;
  CodeImageStore store(f.dir.path());
  std::optional<CodeImage> image = store.stubs_image_for(f.plan, "p");
  ASSERT_TRUE(image);
  EXPECT_EQ(image->start, f.plan.stub_base);
  EXPECT_EQ(image->length, 2 * kPageSize);
  EXPECT_EQ(image->offset, 0u);
  EXPECT_EQ(image->prot, PROT_READ | PROT_EXEC);
  std::string want(f.plan.stubs.data(), f.plan.stubs.size());
  want.resize(2 * kPageSize, '\0');
  EXPECT_EQ(mapped(*image), want);
  RewritePlan none;
  EXPECT_FALSE(store.stubs_image_for(none, "p"));
}

}  // namespace
}  // namespace rr
