#include "shim/redis_url.hpp"

#include <charconv>

namespace tiffin::shim {

Result<RedisUrl> parse_redis_url(const std::string& url) {
  auto bad = [&](const std::string& why) { return fail(Errc::invalid_input, "redis URL '" + url + "': " + why); };
  constexpr std::string_view scheme = "redis://";
  if (!url.starts_with(scheme)) return bad("must start with redis://");
  std::string rest = url.substr(scheme.size());
  size_t slash = rest.find('/');
  if (slash == std::string::npos || slash + 1 >= rest.size()) return bad("no channel (redis://host[:port]/channel)");
  RedisUrl out;
  out.channel = rest.substr(slash + 1);
  std::string authority = rest.substr(0, slash);
  if (size_t at = authority.rfind('@'); at != std::string::npos) {
    std::string user_info = authority.substr(0, at);
    authority = authority.substr(at + 1);
    // Zero-OS's form is ":password"; a user name before the colon is accepted and ignored.
    size_t colon = user_info.find(':');
    out.password = colon == std::string::npos ? user_info : user_info.substr(colon + 1);
  }
  std::string port;
  if (authority.starts_with("[")) {  // [::1]:6379
    size_t close = authority.find(']');
    if (close == std::string::npos) return bad("unterminated IPv6 address");
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return bad("garbage after the IPv6 address");
      port = authority.substr(close + 2);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string::npos) {
    out.host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  } else {
    out.host = authority;
  }
  if (out.host.empty()) return bad("no host");
  if (out.host.find_first_of(" /?#") != std::string::npos) return bad("invalid host");
  if (!port.empty()) {
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
    if (ec != std::errc() || end != port.data() + port.size() || out.port < 1 || out.port > 65535)
      return bad("invalid port '" + port + "'");
  }
  return out;
}

std::string format_redis_url(const RedisUrl& u) {
  std::string host = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  return "redis://" + (u.password.empty() ? "" : ":" + u.password + "@") + host + ":" + std::to_string(u.port) + "/" + u.channel;
}

}  // namespace tiffin::shim
