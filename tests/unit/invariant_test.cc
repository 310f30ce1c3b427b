// Checks of rr's own (KJ_REQUIRE in src/) and data capnp rejects both throw
// kj::Exception; kj_error must tell them apart, because only the second may
// make a replay skip to an earlier checkpoint.
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include "trace/trace.capnp.h"
#include "util/invariant.h"
#include "util/result.h"

namespace rr {
namespace {

kj::Exception caught(const std::function<void()>& f) {
  try {
    f();
  } catch (const kj::Exception& e) {
    return e;
  }
  ADD_FAILURE() << "no kj::Exception thrown";
  return kj::Exception(kj::Exception::Type::FAILED, "none", 0, kj::str("none"));
}

TEST(Invariant, FailedCheckInRrSourcesIsInternal) {
  Result<int> failed = make_error("no such event");
  kj::Exception e = caught([&] { (void)failed.value(); });
  EXPECT_TRUE(is_internal(e)) << e.getFile();
  Error err = kj_error(e, ErrorKind::CorruptCheckpoint, "checkpoint x is corrupt: ");
  EXPECT_EQ(err.kind, ErrorKind::Internal);
  EXPECT_NE(err.message.find("internal error at util/result.h:"), std::string::npos) << err.message;
  EXPECT_NE(err.message.find("no such event"), std::string::npos) << err.message;
}

TEST(Invariant, StatusErrorOfSuccessIsInternal) {
  Status fine;
  kj::Exception e = caught([&] { (void)fine.error(); });
  EXPECT_EQ(kj_error(e, ErrorKind::Corrupt, "").kind, ErrorKind::Internal);
}

TEST(Invariant, DataCapnpRejectsIsNotInternal) {
  // A message whose segment table claims more words than there are.
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(2);
  memset(words.begin(), 0, words.size() * sizeof(capnp::word));
  uint32_t table[2] = {0, 1000};
  memcpy(words.begin(), table, sizeof(table));
  kj::Exception e = caught([&] {
    capnp::FlatArrayMessageReader reader(words.asPtr());
    (void)reader.getRoot<trace::TraceHeader>().getFormatMajor();
  });
  EXPECT_FALSE(is_internal(e)) << e.getFile();
  Error err = kj_error(e, ErrorKind::CorruptCheckpoint, "checkpoint x is corrupt: ");
  EXPECT_EQ(err.kind, ErrorKind::CorruptCheckpoint);
  EXPECT_EQ(err.message.rfind("checkpoint x is corrupt: ", 0), 0u) << err.message;
}

}  // namespace
}  // namespace rr
