// Errors that come from user input (a bad trace, a missing program, an event
// past the end) are values carried up to the command, which prints them in
// one line. Programming errors are checks that throw (util/invariant.h).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

#include <kj/debug.h>

namespace rr {

// What kind of failure an Error is, so that a caller can decide: a corrupt
// checkpoint is skipped for an earlier one, a divergence never is.
enum class ErrorKind : uint8_t {
  Failure,      // not classified further: I/O, a refused system call, bad input
  Usage,        // a command line rr cannot follow
  Corrupt,      // a trace file that is damaged, truncated or newer
  CorruptCheckpoint,  // a persistent checkpoint that is damaged, truncated, foreign or newer: an earlier one may do
  Divergence,   // replay differs from the recording
  Unsupported,  // something the engine cannot record or replay yet
  TraceeGone,   // a tracee vanished under the supervisor (killed from outside)
  Internal,     // a broken invariant of ours
};

// A failure with a message meant for the user: one line, no trailing newline.
struct Error {
  std::string message;
  ErrorKind kind = ErrorKind::Failure;
};

inline Error make_error(std::string message) { return Error{std::move(message)}; }
inline Error make_error(ErrorKind kind, std::string message) { return Error{std::move(message), kind}; }

// Either a T or an Error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { KJ_REQUIRE(ok(), "value of a failed Result", error().message.c_str()); return std::get<0>(v_); }
  const T& value() const& { KJ_REQUIRE(ok(), "value of a failed Result", error().message.c_str()); return std::get<0>(v_); }
  T&& value() && { KJ_REQUIRE(ok(), "value of a failed Result", error().message.c_str()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

  const Error& error() const { KJ_REQUIRE(!ok(), "error of a successful Result"); return std::get<1>(v_); }
  Error take_error() { KJ_REQUIRE(!ok(), "error of a successful Result"); return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// A Result with nothing to carry on success.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), failed_(true) {}
  static Status success() { return Status(); }

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const { KJ_REQUIRE(failed_, "error of a successful Status"); return error_; }
  Error take_error() { KJ_REQUIRE(failed_, "error of a successful Status"); return std::move(error_); }

 private:
  Error error_;
  bool failed_ = false;
};

}  // namespace rr

// Propagates a failed Status or Result from the current function.
#define RR_TRY(expr)                                       \
  do {                                                     \
    auto rr_try_result_ = (expr);                          \
    if (!rr_try_result_.ok()) return rr_try_result_.take_error(); \
  } while (0)

#define RR_CONCAT_INNER(a, b) a##b
#define RR_CONCAT(a, b) RR_CONCAT_INNER(a, b)
// Declares `lhs` from a Result, or returns its error.
#define RR_ASSIGN_OR_RETURN(lhs, expr) RR_ASSIGN_OR_RETURN_IMPL(RR_CONCAT(rr_res_, __LINE__), lhs, expr)
#define RR_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.take_error();        \
  lhs = std::move(tmp).value()
