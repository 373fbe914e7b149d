// libsodium must be initialised before its first use (it picks implementations and seeds its
// random generator); sodium_init is thread-safe and cheap after the first call. Private to src/zos.
#pragma once

#include <sodium.h>

#include "common/error.hpp"

namespace tiffin::zos {

inline Result<void> sodium_ready() {
  if (sodium_init() < 0) return fail(Errc::internal, "libsodium failed to initialise");
  return {};
}

}  // namespace tiffin::zos
