// Sparse files in the trace: copy_sparse keeps holes as holes, and the
// sparse sum does not depend on where the file system keeps them.
#include <gtest/gtest.h>
#include "scratch_dir.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "trace/trace_sums.h"
#include "util/io.h"
#include "util/scoped_fd.h"

namespace rr {
namespace {

constexpr uint64_t kBig = 1ull << 32;  // 4 GiB, almost all hole

std::string sparse_dir() { return scratch_dir_until_exit("rr-unit"); }

// A file of `size` bytes holding "data" at each of `at`.
void make_sparse(const std::string& path, uint64_t size, std::initializer_list<uint64_t> at) {
  ScopedFd fd(::open(path.c_str(), O_CREAT | O_RDWR | O_TRUNC, 0600));
  ASSERT_TRUE(fd.is_open());
  ASSERT_EQ(0, ftruncate(fd.get(), (off_t)size));
  for (uint64_t a : at) ASSERT_TRUE(write_at(fd.get(), "data", 4, a, path).ok());
}

uint64_t allocated(const std::string& path) {
  struct stat st;
  EXPECT_EQ(0, stat(path.c_str(), &st));
  return (uint64_t)st.st_blocks * 512;
}

TEST(SparseFiles, CopyKeepsHolesAndData) {
  std::string dir = sparse_dir();
  make_sparse(dir + "/in", kBig, {0, kBig / 2 + 7, kBig - 4});
  ScopedFd in(::open((dir + "/in").c_str(), O_RDONLY));
  ScopedFd out(::open((dir + "/out").c_str(), O_CREAT | O_RDWR | O_TRUNC, 0600));
  ASSERT_TRUE(copy_sparse(in.get(), out.get(), kBig, "in").ok());
  struct stat st;
  ASSERT_EQ(0, fstat(out.get(), &st));
  EXPECT_EQ(kBig, (uint64_t)st.st_size);
  EXPECT_LT(allocated(dir + "/out"), 1u << 20) << "the copy filled its holes";
  char got[4];
  for (uint64_t a : {(uint64_t)0, kBig / 2 + 7, kBig - 4}) {
    ASSERT_EQ(4, pread(out.get(), got, 4, (off_t)a));
    EXPECT_EQ(0, memcmp(got, "data", 4)) << "at " << a;
  }
  ASSERT_EQ(4, pread(out.get(), got, 4, (off_t)(kBig / 4)));
  EXPECT_EQ(0, memcmp(got, "\0\0\0\0", 4));
  system(("rm -rf " + dir).c_str());
}

TEST(SparseFiles, SparseSumIgnoresWhereHolesAre) {
  std::string dir = sparse_dir();
  // The same bytes, once with a hole and once written out as zeros.
  make_sparse(dir + "/holes", 1 << 20, {100, 600000});
  {
    std::string zeros(1 << 20, '\0');
    memcpy(&zeros[100], "data", 4);
    memcpy(&zeros[600000], "data", 4);
    ScopedFd fd(::open((dir + "/dense").c_str(), O_CREAT | O_RDWR | O_TRUNC, 0600));
    ASSERT_TRUE(write_all(fd.get(), zeros.data(), zeros.size(), "dense").ok());
  }
  auto a = sum_file(dir + "/holes", true), b = sum_file(dir + "/dense", true);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->hash, b->hash);
  EXPECT_EQ(a->size, b->size);
  EXPECT_TRUE(a->sparse);
  // A byte elsewhere changes it.
  make_sparse(dir + "/other", 1 << 20, {100, 600001});
  auto c = sum_file(dir + "/other", true);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(a->hash, c->hash);
  // Left to choose, a file with holes gets the sparse sum, a dense one the plain.
  EXPECT_TRUE(sum_file(dir + "/holes")->sparse);
  EXPECT_FALSE(sum_file(dir + "/dense")->sparse);
  system(("rm -rf " + dir).c_str());
}

TEST(SparseFiles, SumsFileMarksSparseSums) {
  std::string dir = sparse_dir();
  ASSERT_EQ(0, mkdir((dir + "/files").c_str(), 0700));
  make_sparse(dir + "/files/big-0", kBig, {kBig / 3});
  auto sum = sum_file(dir + "/files/big-0");
  ASSERT_TRUE(sum.ok());
  ASSERT_TRUE(sum->sparse);
  ASSERT_TRUE(append_sum(dir, "files/big-0", *sum).ok());
  auto text = read_file(dir + "/sums");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ('z', text.value()[16]) << text.value();
  auto sums = TraceSums::load(dir, true);
  ASSERT_TRUE(sums.ok()) << sums.error().message;
  EXPECT_TRUE(sums->check_file("files/big-0").ok());
  // A changed byte is found.
  {
    ScopedFd fd(::open((dir + "/files/big-0").c_str(), O_WRONLY));
    ASSERT_TRUE(write_at(fd.get(), "x", 1, 5, "big").ok());
  }
  auto again = TraceSums::load(dir, true);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->check_file("files/big-0").ok());
  system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace rr
