#include "common/error.hpp"

#include <cstring>

namespace tiffin {

std::unexpected<Error> fail_errno(const std::string& what, int e) {
  Errc kind = Errc::io;
  if (e == ENOENT) kind = Errc::not_found;
  if (e == EEXIST) kind = Errc::conflict;
  return std::unexpected(Error{kind, e, what + ": " + std::strerror(e)});
}

const char* errc_name(Errc kind) {
  switch (kind) {
    case Errc::io: return "io";
    case Errc::invalid_input: return "invalid input";
    case Errc::not_found: return "not found";
    case Errc::corrupt: return "corrupt";
    case Errc::conflict: return "conflict";
    case Errc::denied: return "denied";
    case Errc::unavailable: return "unavailable";
    case Errc::unsupported: return "unsupported";
    case Errc::internal: return "internal";
  }
  return "unknown";
}

}  // namespace tiffin
