#include "net/port_spec.hpp"

#include <tuple>

#include "common/text.hpp"

namespace tiffin::net {
namespace {

Result<std::pair<uint16_t, uint16_t>> parse_range(std::string_view text, std::string_view whole, bool allow_zero) {
  auto dash = text.find('-');
  auto first = parse_uint<uint16_t>(text.substr(0, dash));
  auto last = dash == std::string_view::npos ? first : parse_uint<uint16_t>(text.substr(dash + 1));
  if (!first || !last || *last < *first || (!allow_zero && *first == 0))
    return fail(Errc::invalid_input, "invalid port '" + printable(text) + "' in -p " + printable(whole) + " (1–65535, or a range a-b)");
  return std::pair{*first, *last};
}

}  // namespace

const char* proto_name(Proto p) { return p == Proto::tcp ? "tcp" : "udp"; }

Result<Proto> parse_proto(std::string_view text) {
  if (text == "tcp") return Proto::tcp;
  if (text == "udp") return Proto::udp;
  return fail(Errc::invalid_input, "unknown protocol '" + printable(text) + "' (tcp or udp)");
}

Result<PortSpec> parse_port_spec(std::string_view text) {
  PortSpec s;
  std::string_view rest = text;
  if (auto slash = rest.rfind('/'); slash != std::string_view::npos) {
    s.proto = TRY(parse_proto(rest.substr(slash + 1)));
    rest = rest.substr(0, slash);
  }
  if (rest.starts_with('[')) {  // [v6]:host:ctr
    auto close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      return fail(Errc::invalid_input, "-p " + printable(text) + ": an IPv6 address goes in brackets, [::1]:8080:80");
    s.host_ip = TRY(IpAddress::parse(rest.substr(1, close - 1)));
    rest = rest.substr(close + 2);
    auto colon = rest.find(':');
    if (colon == std::string_view::npos) return fail(Errc::invalid_input, "-p " + printable(text) + ": expected [ip]:hostport:ctrport");
    if (colon > 0) std::tie(s.host_first, s.host_last) = TRY(parse_range(rest.substr(0, colon), text, false));
    rest = rest.substr(colon + 1);
  } else {
    auto parts = split(rest, ':');
    if (parts.size() > 3) return fail(Errc::invalid_input, "-p " + printable(text) + ": too many ':' ([hostip:][hostport:]ctrport)");
    if (parts.size() == 3) {
      if (!parts[0].empty()) s.host_ip = TRY(IpAddress::parse(parts[0]));
      if (s.host_ip && !s.host_ip->is_v4())
        return fail(Errc::invalid_input, "-p " + printable(text) + ": an IPv6 address goes in brackets, [::1]:8080:80");
    }
    if (parts.size() >= 2 && !parts[parts.size() - 2].empty())
      std::tie(s.host_first, s.host_last) = TRY(parse_range(parts[parts.size() - 2], text, false));
    rest = rest.substr(rest.size() - parts.back().size());
  }
  std::tie(s.ctr_first, s.ctr_last) = TRY(parse_range(rest, text, false));
  if (s.host_ip && s.host_ip->is_unspecified() && s.host_ip->is_v4()) s.host_ip.reset();  // 0.0.0.0: every address
  return s;
}

Result<ExpandedPorts> expand_port_spec(const PortSpec& s) {
  ExpandedPorts out;
  unsigned ctr_count = s.ctr_last - s.ctr_first + 1u;
  unsigned host_count = s.host_first ? s.host_last - s.host_first + 1u : 0;
  if (host_count > 1 && ctr_count == 1) {
    out.ports.push_back({s.proto, s.host_ip, s.host_first, s.ctr_first});
    out.pick_until = s.host_last;
    return out;
  }
  if (host_count && host_count != ctr_count)
    return fail(Errc::invalid_input, "the host port range " + std::to_string(s.host_first) + "-" + std::to_string(s.host_last) +
                                         " and the container range " + std::to_string(s.ctr_first) + "-" + std::to_string(s.ctr_last) +
                                         " differ in length");
  for (unsigned i = 0; i < ctr_count; ++i)
    out.ports.push_back(
        {s.proto, s.host_ip, static_cast<uint16_t>(host_count ? s.host_first + i : 0), static_cast<uint16_t>(s.ctr_first + i)});
  return out;
}

std::string describe(const PublishedPort& p) {
  std::string ip = p.host_ip ? (p.host_ip->is_v4() ? p.host_ip->str() : "[" + p.host_ip->str() + "]") : "0.0.0.0";
  return ip + ":" + std::to_string(p.host_port) + "->" + std::to_string(p.ctr_port) + "/" + proto_name(p.proto);
}

}  // namespace tiffin::net
