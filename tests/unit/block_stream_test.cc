#include "trace/block_stream.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace rr {
namespace {

std::string temp_path(const char* name) {
  char tmpl[] = "/tmp/rr-unit-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  return dir + "/" + name;
}

std::string record_text(int i) { return "record-" + std::to_string(i) + std::string(i % 97, 'x'); }

void write_records(const std::string& path, Codec codec, int n, std::vector<StreamPos>* positions = nullptr) {
  auto w = BlockStreamWriter::create(path, codec, 4096);
  ASSERT_TRUE(w.ok()) << w.error().message;
  for (int i = 0; i < n; ++i) {
    if (positions) positions->push_back(w->position());
    std::string s = record_text(i);
    ASSERT_TRUE(w->append(s.data(), s.size()).ok());
  }
  ASSERT_TRUE(w->finish().ok());
}

class BlockStreamCodecs : public ::testing::TestWithParam<Codec> {};

TEST_P(BlockStreamCodecs, RoundTripsEveryRecord) {
  std::string path = temp_path("s");
  write_records(path, GetParam(), 500);
  auto r = BlockStreamReader::open(path);
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::vector<uint8_t> buf;
  for (int i = 0; i < 500; ++i) {
    auto more = r->next(buf);
    ASSERT_TRUE(more.ok()) << more.error().message;
    ASSERT_TRUE(more.value()) << "stream ended early at record " << i;
    EXPECT_EQ(std::string(buf.begin(), buf.end()), record_text(i));
  }
  auto end = r->next(buf);
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end.value());
}

INSTANTIATE_TEST_SUITE_P(All, BlockStreamCodecs, ::testing::Values(Codec::Zstd, Codec::Zlib, Codec::None));

TEST(BlockStream, SeekReturnsTheRecordAtAPosition) {
  std::string path = temp_path("s");
  std::vector<StreamPos> positions;
  write_records(path, Codec::Zstd, 300, &positions);
  auto r = BlockStreamReader::open(path);
  ASSERT_TRUE(r.ok());
  std::vector<uint8_t> buf;
  for (int i : {250, 3, 0, 299, 128}) {
    ASSERT_TRUE(r->seek(positions[i]).ok());
    ASSERT_TRUE(r->next(buf).value());
    EXPECT_EQ(std::string(buf.begin(), buf.end()), record_text(i));
  }
}

TEST(BlockStream, ReaderPositionMatchesWriterPosition) {
  std::string path = temp_path("s");
  std::vector<StreamPos> positions;
  write_records(path, Codec::Zstd, 200, &positions);
  auto r = BlockStreamReader::open(path);
  std::vector<uint8_t> buf;
  for (int i = 0; i < 200; ++i) {
    // Writer positions name the pending block by its future offset; the
    // reader names a record by (block, index). Check the reader resumes
    // from its own positions.
    StreamPos p = r->position();
    ASSERT_TRUE(r->next(buf).value());
    auto r2 = BlockStreamReader::open(path);
    ASSERT_TRUE(r2->seek(p).ok());
    std::vector<uint8_t> again;
    ASSERT_TRUE(r2->next(again).value());
    EXPECT_EQ(buf, again) << "record " << i;
  }
}

TEST(BlockStream, TruncatedStreamIsReportedNotCrashed) {
  std::string path = temp_path("s");
  write_records(path, Codec::Zstd, 2000);
  off_t size = lseek(::open(path.c_str(), O_RDONLY), 0, SEEK_END);
  ASSERT_EQ(truncate(path.c_str(), size - 10), 0);
  auto r = BlockStreamReader::open(path);
  ASSERT_TRUE(r.ok());
  std::vector<uint8_t> buf;
  std::string error;
  ErrorKind kind = ErrorKind::Failure;
  for (;;) {
    auto more = r->next(buf);
    if (!more.ok()) {
      error = more.error().message;
      kind = more.error().kind;
      break;
    }
    ASSERT_TRUE(more.value()) << "a truncated stream must not end cleanly";
  }
  EXPECT_NE(error.find("truncated"), std::string::npos) << error;
  EXPECT_EQ(kind, ErrorKind::Corrupt) << "a truncated stream is a bad file, which callers may skip";
}

TEST(BlockStream, CorruptBlockFailsItsChecksum) {
  std::string path = temp_path("s");
  write_records(path, Codec::None, 100);
  int fd = ::open(path.c_str(), O_RDWR);
  char c = 'Z';
  ASSERT_EQ(pwrite(fd, &c, 1, 16 + 24 + 10), 1);  // inside the first block's data
  close(fd);
  auto r = BlockStreamReader::open(path);
  std::vector<uint8_t> buf;
  auto more = r->next(buf);
  ASSERT_FALSE(more.ok());
  EXPECT_NE(more.error().message.find("corrupt"), std::string::npos) << more.error().message;
  EXPECT_EQ(more.error().kind, ErrorKind::Corrupt);
}

TEST(BlockStream, NotAStreamIsRejected) {
  std::string path = temp_path("s");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_EQ(write(fd, "hello world, not a stream", 25), 25);
  close(fd);
  auto r = BlockStreamReader::open(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not a trace stream"), std::string::npos);
  EXPECT_EQ(r.error().kind, ErrorKind::Corrupt);
}

TEST(BlockStream, AMissingStreamIsNotCorrupt) {
  // Only damaged files are passed over for others; a file that cannot be
  // opened at all is a plain failure.
  auto r = BlockStreamReader::open(temp_path("absent"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Failure) << r.error().message;
}

}  // namespace
}  // namespace rr
