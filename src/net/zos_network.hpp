// A Zero-OS network resource: one node's part of a private network that spans nodes. The
// network has a /16 (ip_range); each node holds a /24 of it (subnet) on a bridge of its own,
// behind a namespace that routes the rest of the /16 through a WireGuard interface to the peers
// that hold the other /24s. What is here is pure: the resource's fields, Zero-OS's checks, the
// addresses Zero-OS derives (the WireGuard routing address, the IPv6 ULA of each container),
// link names and the namespace's firewall. The engine builds it in the kernel
// (engine/zos_networks.cpp); zos/net_resource.hpp reads it from Zero-OS's JSON and flags.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "net/address.hpp"
#include "net/wireguard_uapi.hpp"

namespace tiffin::net {

struct ZosPeer {
  Cidr subnet;                 // the /24 the peer holds
  WgKey public_key{};          // its WireGuard key
  std::string public_key_b64;  // the same as the user wrote it (base64), for display
  std::vector<Cidr> allowed_ips;
  std::optional<WgEndpoint> endpoint;  // none: it dials us
};

struct ZosNetworkSpec {
  std::string name;    // the local network's name (tiffin network NAME)
  std::string net_id;  // Zero-OS's network id, the same on every node of the network
  Cidr ip_range;       // the network's /16
  Cidr subnet;         // this node's /24
  WgKey private_key{};
  std::string public_key_b64;  // derived from the private key by whoever parsed it
  uint16_t listen_port = 0;    // 0: any (then the peers cannot dial us: every peer needs an endpoint)
  std::vector<ZosPeer> peers;
};

// Zero-OS's rules: the range is an IPv4 /16, the subnet a /24 inside it; each peer has a key
// other than ours, a /24 inside the range that no one else holds, allowed IPs that overlap
// neither our subnet nor another peer's, and an endpoint unless it can dial us.
Result<void> validate_zos_network(const ZosNetworkSpec& spec);
// Only the peer list, for `network update` (the rest of the resource stays).
Result<void> validate_zos_peers(const ZosNetworkSpec& spec);

// The routing address of a node's WireGuard interface: 100.64.<b2>.<b3>/16 for subnet
// a.b2.b3.0/24.
Cidr zos_wg_address(const Cidr& subnet);
// The IPv6 ULA Zero-OS gives the IPv4 address `ip` of network `net_id`:
// fd<n0>:<n1><n2>:<n3><n4>:<b3>::<b4>, where n are the first bytes of net_id followed by
// MD5("") (Zero-OS hashes an empty input and appends it; the addresses must match its nodes'),
// each printed in hex without padding, and b3, b4 the address's last two bytes.
IpAddress zos_ula(std::string_view net_id, const IpAddress& ip);
// The /64 the ULAs of subnet `subnet` share.
Cidr zos_ula_subnet(std::string_view net_id, const Cidr& subnet);

// The names of one network resource's links in the node's namespace, unique on the host
// (`unique` hashes the engine's root and the network's id; interface names are 15 bytes at most).
struct ZosLinkNames {
  std::string bridge;       // b-<h>: the containers' bridge
  std::string host_nr;      // r-<h>: the bridge's port towards the resource's namespace
  std::string host_public;  // p-<h>: the namespace's way out, a port of the node's ndmz bridge
  std::string wireguard;    // w-<h>: made here, moved into the resource's namespace
};
ZosLinkNames zos_link_names(std::string_view unique);
// Inside the resource's namespace.
inline constexpr const char* kZosNrLink = "nr";          // on the containers' bridge; .1 of the subnet
inline constexpr const char* kZosPublicLink = "public";  // towards the node (ndmz)
// The node's side of every resource's way out: a bridge with 100.127.0.1/16, one address per
// resource, masqueraded out of the node.
inline const Cidr kZosNdmzSubnet = Cidr(IpAddress::v4(0x647f0000), 16);  // 100.127.0.0/16
inline const IpAddress kZosNdmzGateway = IpAddress::v4(0x647f0001);      // 100.127.0.1

// The resource namespace's firewall, as nft text (replaces what was there): outbound traffic is
// masqueraded out of "public"; nothing that comes in there starts a connection ("a diode").
std::string zos_nr_ruleset();

}  // namespace tiffin::net
