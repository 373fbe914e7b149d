#include "net/ipam.hpp"

#include <fstream>
#include <sstream>

#include "common/text.hpp"

namespace tiffin::net {

std::optional<IpAddress> first_free_address(
    const Cidr& subnet, const Cidr& range, const IpAddress& gateway, const std::set<IpAddress>& taken) {
  IpAddress network = subnet.network();
  IpAddress broadcast = subnet.last();
  // A free address comes within |taken| + 3 steps, so even a /64 range is walked briefly.
  IpAddress a = range.network();
  for (uint64_t i = 0; i < range.size(); ++i, a = a.plus(1)) {
    if (a == network || a == gateway || taken.contains(a)) continue;
    if (a.is_v4() && a == broadcast) continue;
    return a;
  }
  return std::nullopt;
}

IpAddress default_gateway(const Cidr& subnet) { return subnet.network().plus(1); }

std::optional<Cidr> first_free_subnet(const std::vector<Cidr>& candidates, const std::vector<Cidr>& in_use) {
  for (const auto& c : candidates) {
    bool clash = false;
    for (const auto& u : in_use) clash = clash || c.overlaps(u);
    if (!clash) return c;
  }
  return std::nullopt;
}

std::vector<Cidr> host_routes_v4() {
  std::vector<Cidr> out;
  std::ifstream in("/proc/net/route");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string iface, dest, gw, flags, refcnt, use, metric, mask;
    if (!(f >> iface >> dest >> gw >> flags >> refcnt >> use >> metric >> mask)) continue;
    auto d = parse_uint<uint32_t>(dest, 16), m = parse_uint<uint32_t>(mask, 16);
    if (!d || !m || *m == 0) continue;
    // The kernel prints the little-endian host's view of network-order words.
    uint32_t dest_host = __builtin_bswap32(*d), mask_host = __builtin_bswap32(*m);
    out.emplace_back(IpAddress::v4(dest_host), static_cast<unsigned>(__builtin_popcount(mask_host)));
  }
  return out;
}

Result<void> check_network_addressing(const Cidr& subnet, const IpAddress& gateway, const Cidr& range) {
  if (subnet.family() == IpAddress::Family::v4 ? subnet.prefix() > 30 : subnet.prefix() > 126)
    return fail(Errc::invalid_input, "subnet " + subnet.str() + " is too small (at least a /30, or /126 for IPv6)");
  if (!subnet.contains(gateway)) return fail(Errc::invalid_input, "gateway " + gateway.str() + " is not in subnet " + subnet.str());
  if (gateway == subnet.network() || (gateway.is_v4() && gateway == subnet.last()))
    return fail(Errc::invalid_input, "gateway " + gateway.str() + " is the network or broadcast address of " + subnet.str());
  if (!subnet.contains(range)) return fail(Errc::invalid_input, "ip range " + range.str() + " is not in subnet " + subnet.str());
  return {};
}

}  // namespace tiffin::net
