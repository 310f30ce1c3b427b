// Comparing two progress-counter plans (core/branch_rewriter.h) in unit
// tests, on the fields a trace's plan file keeps: what replay applies to
// the code (patches, stubs and where they go) and what it counts.
#pragma once

#include <gtest/gtest.h>

#include "core/branch_rewriter.h"

namespace rr {

inline void expect_same_kept_plan(const RewritePlan& want, const RewritePlan& got) {
  EXPECT_EQ(want.stub_base, got.stub_base);
  EXPECT_EQ(want.stubs, got.stubs);
  ASSERT_EQ(want.patches.size(), got.patches.size());
  for (size_t i = 0; i < want.patches.size(); ++i) {
    EXPECT_EQ(want.patches[i].addr, got.patches[i].addr);
    EXPECT_EQ(want.patches[i].bytes, got.patches[i].bytes);
  }
  EXPECT_EQ(want.counted, got.counted);
  EXPECT_EQ(want.spin_sites, got.spin_sites);
  EXPECT_EQ(want.poll_sites, got.poll_sites);
}

}  // namespace rr
