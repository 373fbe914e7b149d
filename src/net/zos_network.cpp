#include "net/zos_network.hpp"

#include <fmt/format.h>

#include <set>

namespace tiffin::net {
namespace {

Result<void> bad(const std::string& why) { return fail(Errc::invalid_input, why); }

}  // namespace

Result<void> validate_zos_peers(const ZosNetworkSpec& spec) {
  std::set<WgKey> keys;
  std::vector<std::pair<Cidr, size_t>> allowed;  // every peer's allowed IPs, with the peer's index
  for (size_t i = 0; i < spec.peers.size(); ++i) {
    const ZosPeer& p = spec.peers[i];
    std::string who = "peer " + std::to_string(i + 1) + " (" + p.subnet.str() + ")";
    if (p.public_key == WgKey{}) return bad(who + ": no WireGuard public key");
    if (!spec.public_key_b64.empty() && p.public_key_b64 == spec.public_key_b64) return bad(who + ": its key is this node's own");
    if (!keys.insert(p.public_key).second) return bad(who + ": another peer has the same public key");
    if (!p.subnet.address().is_v4() || p.subnet.prefix() != 24 || !spec.ip_range.contains(p.subnet))
      return bad(who + ": the subnet must be a /24 inside the network's range " + spec.ip_range.str());
    if (p.subnet.overlaps(spec.subnet)) return bad(who + ": the subnet is this node's own " + spec.subnet.str());
    for (size_t j = 0; j < i; ++j)
      if (spec.peers[j].subnet.overlaps(p.subnet)) return bad(who + ": the subnet is also peer " + std::to_string(j + 1) + "'s");
    if (p.allowed_ips.empty()) return bad(who + ": no allowed IPs");
    for (const auto& a : p.allowed_ips) {
      if (a.overlaps(spec.subnet)) return bad(who + ": allowed IP " + a.str() + " overlaps this node's subnet " + spec.subnet.str());
      for (const auto& [other, owner] : allowed)
        if (other.overlaps(a))
          return bad(who + ": allowed IP " + a.str() + " overlaps peer " + std::to_string(owner + 1) + "'s " + other.str());
    }
    for (const auto& a : p.allowed_ips) allowed.emplace_back(a, i);
    if (!p.endpoint && spec.listen_port == 0)
      return bad(who + ": needs an endpoint: this node has no listen port, so the peer cannot reach it first");
  }
  return {};
}

Result<void> validate_zos_network(const ZosNetworkSpec& spec) {
  if (spec.net_id.empty() || spec.net_id.size() > 128 || spec.net_id.find_first_of(" \t\n\r/") != std::string::npos)
    return bad("the network id '" + spec.net_id + "' must be 1 to 128 characters without spaces or '/'");
  if (!spec.ip_range.address().is_v4() || spec.ip_range.prefix() != 16 || spec.ip_range.address() != spec.ip_range.network())
    return bad("the IP range " + spec.ip_range.str() + " must be an IPv4 /16 (as 10.20.0.0/16)");
  if (!spec.subnet.address().is_v4() || spec.subnet.prefix() != 24 || spec.subnet.address() != spec.subnet.network())
    return bad("the subnet " + spec.subnet.str() + " must be an IPv4 /24 (as 10.20.3.0/24)");
  if (!spec.ip_range.contains(spec.subnet))
    return bad("the subnet " + spec.subnet.str() + " is not inside the network's range " + spec.ip_range.str());
  if (spec.private_key == WgKey{}) return bad("no WireGuard private key");
  return validate_zos_peers(spec);
}

Cidr zos_wg_address(const Cidr& subnet) {
  const uint8_t* b = subnet.address().bytes();
  return Cidr(IpAddress::v4((100u << 24) | (64u << 16) | (uint32_t{b[1]} << 8) | b[2]), 16);
}

namespace {

// The text Zero-OS formats, before parsing: "fd%x:%x%x:%x%x:%x::%x".
std::string ula_text(std::string_view net_id, uint8_t b3, uint8_t b4) {
  static constexpr uint8_t kMd5OfNothing[16] = {
      0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04, 0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8, 0x42, 0x7e};
  uint8_t n[5];
  for (size_t i = 0; i < 5; ++i) n[i] = i < net_id.size() ? static_cast<uint8_t>(net_id[i]) : kMd5OfNothing[i - net_id.size()];
  return fmt::format("fd{:x}:{:x}{:x}:{:x}{:x}:{:x}::{:x}", n[0], n[1], n[2], n[3], n[4], b3, b4);
}

}  // namespace

IpAddress zos_ula(std::string_view net_id, const IpAddress& ip) {
  const uint8_t* b = ip.bytes();
  auto parsed = IpAddress::parse(ula_text(net_id, b[2], b[3]));
  return parsed ? *parsed : IpAddress();  // the text is always an IPv6 address
}

Cidr zos_ula_subnet(std::string_view net_id, const Cidr& subnet) { return Cidr(Cidr(zos_ula(net_id, subnet.network()), 64).network(), 64); }

ZosLinkNames zos_link_names(std::string_view unique) {
  uint32_t h = 2166136261u;  // FNV-1a: stable across builds
  for (char c : unique) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  std::string s = fmt::format("{:08x}", h);
  return {"b-" + s, "r-" + s, "p-" + s, "w-" + s};
}

std::string zos_nr_ruleset() {
  return R"(table inet tiffin_nr
delete table inet tiffin_nr
table inet tiffin_nr {
  chain base_checks {
    ct state { established, related } accept
    ct state invalid drop
  }
  chain input {
    type filter hook input priority 0; policy accept;
    jump base_checks
    meta l4proto ipv6-icmp accept
    iifname "public" counter drop
  }
  chain forward {
    type filter hook forward priority 0; policy accept;
    jump base_checks
    iifname "public" counter drop
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "public" masquerade fully-random
  }
}
)";
}

}  // namespace tiffin::net
