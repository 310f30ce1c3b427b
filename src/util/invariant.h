// Invariants of ours are checked with kj's KJ_REQUIRE / KJ_ASSERT (kj comes
// with capnp, which rr links anyway): they throw kj::Exception carrying the
// file, the line and the values named in the check. Scope guards are
// KJ_DEFER. capnp throws the same exception type when it rejects bytes read
// from disk, so every catch of kj::Exception asks which one it holds: a
// failed check of ours is a bug (ErrorKind::Internal), never a corrupt file,
// and so never a reason to fall back to an earlier checkpoint.
#pragma once

#include <kj/common.h>
#include <kj/debug.h>
#include <kj/exception.h>

#include <string>

#include "util/result.h"

namespace rr {

// Whether `e` was thrown by a check in rr's own sources (src/<layer>/...).
bool is_internal(const kj::Exception& e);

// The Error for a caught kj::Exception: a broken invariant of ours becomes
// "internal error at <file>:<line>: ..." (ErrorKind::Internal); anything
// else is data capnp rejected, `context` followed by capnp's description,
// of kind `data_kind`.
Error kj_error(const kj::Exception& e, ErrorKind data_kind, const std::string& context);

}  // namespace rr
