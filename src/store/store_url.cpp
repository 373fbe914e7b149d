#include "store/store_url.hpp"

#include "common/text.hpp"

namespace tiffin {

std::string StoreUrl::public_url() const {
  if (scheme == "dir") return "dir://" + path;
  std::string out = scheme + "://";
  if (!user.empty()) out += user + "@";
  out += host;
  if (port) out += ":" + std::to_string(port);
  out += path;
  return out;
}

Result<StoreUrl> parse_store_url(std::string_view url) {
  StoreUrl u;
  u.original = std::string(url);
  auto sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0)
    return fail(Errc::invalid_input, "store URL '" + u.original + "' has no scheme (expected dir://, http://, https://, zdb://)");
  u.scheme = std::string(url.substr(0, sep));
  std::string_view rest = url.substr(sep + 3);

  if (u.scheme == "dir") {
    if (rest.empty() || rest[0] != '/') return fail(Errc::invalid_input, "dir store URL needs an absolute path: dir:///path");
    u.path = std::string(rest);
    while (u.path.size() > 1 && u.path.back() == '/') u.path.pop_back();
    return u;
  }
  if (u.scheme != "http" && u.scheme != "https" && u.scheme != "zdb" && u.scheme != "s3")
    return fail(Errc::invalid_input, "unknown store scheme '" + u.scheme + "' in '" + u.original + "'");

  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) u.path = std::string(rest.substr(slash));
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view cred = authority.substr(0, at);
    authority = authority.substr(at + 1);
    auto colon = cred.find(':');
    u.user = std::string(cred.substr(0, colon));
    if (colon != std::string_view::npos) u.password = std::string(cred.substr(colon + 1));
  }
  std::string_view hostport = authority;
  if (!hostport.empty() && hostport[0] == '[') {  // [::1]:9900
    auto close = hostport.find(']');
    if (close == std::string_view::npos) return fail(Errc::invalid_input, "bad IPv6 address in '" + u.original + "'");
    u.host = std::string(hostport.substr(0, close + 1));
    hostport = hostport.substr(close + 1);
    if (!hostport.empty() && hostport[0] != ':') return fail(Errc::invalid_input, "bad host in '" + u.original + "'");
    hostport = hostport.empty() ? hostport : hostport.substr(1);
  } else {
    auto colon = hostport.rfind(':');
    u.host = std::string(hostport.substr(0, colon));
    hostport = colon == std::string_view::npos ? std::string_view{} : hostport.substr(colon + 1);
  }
  if (u.host.empty()) return fail(Errc::invalid_input, "store URL '" + u.original + "' has no host");
  if (!hostport.empty()) {
    auto port = parse_uint<uint16_t>(hostport);
    if (!port || *port == 0) return fail(Errc::invalid_input, "bad port in store URL '" + u.original + "'");
    u.port = *port;
  }
  return u;
}

Result<StoreSpec> parse_store_spec(std::string_view spec) {
  StoreSpec s;
  auto eq = spec.find('=');
  auto scheme = spec.find("://");
  if (eq != std::string_view::npos && (scheme == std::string_view::npos || eq < scheme)) {
    std::string_view range = spec.substr(0, eq);
    auto dash = range.find('-');
    auto parse_byte = [](std::string_view h, uint8_t& out) {
      auto v = h.size() <= 2 ? parse_uint<uint8_t>(h, 16) : std::nullopt;
      if (v) out = *v;
      return v.has_value();
    };
    if (dash == std::string_view::npos || !parse_byte(range.substr(0, dash), s.start) || !parse_byte(range.substr(dash + 1), s.end) ||
        s.start > s.end)
      return fail(Errc::invalid_input, "bad store range '" + std::string(range) + "' (expected e.g. 00-7f)");
    spec = spec.substr(eq + 1);
  }
  TRY(parse_store_url(spec));
  s.url = std::string(spec);
  return s;
}

}  // namespace tiffin
