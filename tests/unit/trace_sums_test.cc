// The sums of parts the recorder rewrites (the shared-files list): a reader
// accepts any version the recorder listed, finds the line of a version
// written after it loaded the sums, and refuses bytes the recorder never
// listed.
#include <gtest/gtest.h>
#include "scratch_dir.h"
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "trace/trace_sums.h"
#include "util/io.h"

namespace rr {
namespace {

std::string sums_dir() { return scratch_dir_until_exit("rr-unit"); }

Status list_version(const std::string& dir, const std::string& text) {
  return append_sum(dir, "shared-files", sum_bytes(text.data(), text.size()));
}

TEST(TraceSums, APartRewrittenWhileReadIsCheckedAgainstEveryVersion) {
  std::string dir = sums_dir();
  const std::string first = "files/a\n", second = "files/a\nfiles/b\n", third = "files/a\nfiles/b\nfiles/c\n";
  ASSERT_TRUE(list_version(dir, "").ok());
  ASSERT_TRUE(list_version(dir, first).ok());
  auto sums = TraceSums::load(dir, true);
  ASSERT_TRUE(sums.ok()) << sums.error().message;
  EXPECT_TRUE(sums->check_bytes("shared-files", "", 0).ok());
  EXPECT_TRUE(sums->check_bytes("shared-files", first.data(), first.size()).ok());
  // Listed after the load: found by reading the sums again.
  ASSERT_TRUE(list_version(dir, second).ok());
  Status later = sums->check_bytes("shared-files", second.data(), second.size());
  EXPECT_TRUE(later.ok()) << later.error().message;
  // Never listed: damaged.
  Status never = sums->check_bytes("shared-files", third.data(), third.size());
  ASSERT_FALSE(never.ok());
  EXPECT_NE(std::string::npos, never.error().message.find("is damaged")) << never.error().message;
  EXPECT_EQ(ErrorKind::Corrupt, never.error().kind);
  Status unlisted = sums->check_bytes("header", "x", 1);
  ASSERT_FALSE(unlisted.ok());
  EXPECT_NE(std::string::npos, unlisted.error().message.find("is not listed")) << unlisted.error().message;
  system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace rr
