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
  bool operator==(const RedisUrl&) const = default;
};

// Errc::invalid_input with the reason for anything else (wrong scheme, no channel, bad port).
Result<RedisUrl> parse_redis_url(const std::string& url);
// The URL again (an IPv6 host in brackets): parse_redis_url(format_redis_url(u)) == u.
std::string format_redis_url(const RedisUrl& u);

}  // namespace tiffin::shim
