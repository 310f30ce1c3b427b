#include "util/invariant.h"

#include <array>
#include <string_view>

namespace rr {

namespace {

// The part of a source path from its layer folder on ("core/session.h"),
// or empty when the path is not one of rr's sources. kj already trims the
// paths it keeps to the part after "src/" where it finds one; a path it
// kept whole (a header reached through the build's layer views,
// <build>/layer-views/L/src/...) is cut the same way here.
std::string_view own_source(std::string_view path) {
  static constexpr std::array<std::string_view, 8> kLayers = {"util", "core", "trace", "record",
                                                              "replay", "checkpoint", "gdb", "cli"};
  // kj's and capnp's own sources are .c++ files; their headers live in kj/ and capnp/.
  if (path.ends_with(".c++")) return {};
  size_t at = path.rfind("src/");
  std::string_view rest = at == std::string_view::npos ? path : path.substr(at + 4);
  for (std::string_view layer : kLayers)
    if (rest.starts_with(layer) && rest.size() > layer.size() && rest[layer.size()] == '/') return rest;
  return {};
}

}  // namespace

bool is_internal(const kj::Exception& e) { return !own_source(e.getFile()).empty(); }

Error kj_error(const kj::Exception& e, ErrorKind data_kind, const std::string& context) {
  std::string_view own = own_source(e.getFile());
  if (!own.empty())
    return make_error(ErrorKind::Internal, "internal error at " + std::string(own) + ":" + std::to_string(e.getLine()) +
                                               ": " + e.getDescription().cStr());
  return make_error(data_kind, context + e.getDescription().cStr());
}

}  // namespace rr
