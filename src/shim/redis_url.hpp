// Where Zero-OS sends a container's logs and stats: redis://[:password@]host[:port]/channel
// (docs/DESIGN.md §3.2). The channel is the path without its leading '/'.
#pragma once

#include <string>

#include "common/error.hpp"

namespace tiffin::shim {

struct RedisUrl {
  std::string host;
  int port = 6379;
  std::string password;
  std::string channel;

  std::string endpoint() const { return host + ":" + std::to_string(port); }
};

// Errc::invalid_input with the reason for anything else (wrong scheme, no channel, bad port).
Result<RedisUrl> parse_redis_url(const std::string& url);

}  // namespace tiffin::shim
