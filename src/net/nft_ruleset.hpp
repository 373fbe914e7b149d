// tiffin's nftables rules, generated as nft's own text (pure: no kernel, unit-tested as text).
// Everything lives in one table, `table inet tiffin`; no other table (docker's, firewalld's,
// iptables-nft's) is read or written. nft_apply() (nftables.hpp) loads the text.
//
// What the table does, docker-grade without docker's userland proxy:
// - Published ports are DNAT'ed in prerouting (traffic from outside the host's namespace and from
//   containers, which is the hairpin case) and in output (the host itself, 127.0.0.1 and its own
//   addresses), for destinations that are the host's own (`fib daddr type local`). Lookups go
//   through maps keyed by (proto, port) for "every host address" and by (host address, proto,
//   port) for a specific one, per family; IPv6 host ports lead only to IPv6 container addresses.
// - postrouting masquerades what a container could not answer directly: 127.0.0.0/8 DNAT'ed into
//   a bridge (needs net/ipv4/conf/<bridge>/route_localnet=1), hairpin traffic (a container reaching
//   its own subnet through a published port) and, for networks that are not internal, the
//   subnet's traffic leaving through any other interface.
// - forward: an internal network's bridge neither sends to nor receives from any other interface;
//   established/related traffic and DNAT'ed traffic are accepted; other traffic between two
//   tiffin bridges is dropped (networks are isolated from each other, as docker's are). The
//   chain's policy is accept: forwarding that is not tiffin's is left alone.
// The caller expands port ranges into PortMappings, and turns on ip_forward and route_localnet.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "net/address.hpp"
#include "net/port_spec.hpp"

namespace tiffin::net {

// The family and name of tiffin's table, as nft commands name it. An engine with another root
// than the default names its own ("inet tiffin_<hash>"), so two engines on one host never
// replace each other's rules; every function below takes the table.
inline constexpr std::string_view kNftTable = "inet tiffin";

struct BridgeNetworkRules {
  std::string name;    // the network's name, for comments in the rules
  std::string bridge;  // its bridge's link name
  std::optional<Cidr> subnet4, subnet6;
  bool internal = false;  // no way out: nothing is forwarded between the bridge and anything else
  // Nothing that comes in through the bridge opens a connection to the node itself (Zero-OS's
  // ndmz, where remote WireGuard peers' traffic arrives): established and related traffic only.
  bool no_host_access = false;
};

struct PortMapping {
  using Proto = net::Proto;
  Proto proto = Proto::tcp;
  // None, or an unspecified address (0.0.0.0, ::): every host address of container_ip's family.
  std::optional<IpAddress> host_ip;
  uint16_t host_port = 0;
  IpAddress container_ip;
  uint16_t container_port = 0;
};

// What the generators assume of their input, for the caller to check when it takes the input
// from a user: names are link names (letters, digits, '.', '-', '_'), subnets of the right family,
// a host address of the container address's family, ports not 0. The generators themselves
// never emit a name character outside that set (so nothing can be injected into the text), and
// leave out a mapping that fails this check.
Result<void> check_network_rules(const BridgeNetworkRules& network);
Result<void> check_port_mapping(const PortMapping& mapping);

// The whole table, as one nft transaction that replaces whatever tiffin's table held before
// (created empty first so that deleting it cannot fail): traffic sees the old rules or the new,
// never none. Mappings with the same key after the first are left out.
std::string nft_ruleset(
    std::span<const BridgeNetworkRules> networks, std::span<const PortMapping> ports, std::string_view table = kNftTable);

// Removes tiffin's table (and nothing else); no error when it is not there.
std::string nft_delete_table(std::string_view table = kNftTable);

// Incremental changes to the port maps only (the table must exist), so publishing one
// container's ports does not rewrite the rules. Adding a port that is already mapped to the same
// destination does nothing; to another destination it fails ("File exists") and the whole
// transaction with it. Deleting is idempotent and removes only an element mapped to this very
// destination (it is added and deleted in one transaction: a missing element is no error, and
// another container's mapping of the same port makes the transaction fail, untouched).
std::string nft_add_ports(std::span<const PortMapping> ports, std::string_view table = kNftTable);
std::string nft_delete_ports(std::span<const PortMapping> ports, std::string_view table = kNftTable);

}  // namespace tiffin::net
