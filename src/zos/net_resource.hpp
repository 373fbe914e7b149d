// Zero-OS network resources as users write them: the NetResource JSON (name, net_id, ip_range,
// subnet, wg_private_key, wg_public_key, wg_listen_port, peers[{subnet, wg_public_key,
// allowed_ips, endpoint}]) and tiffin's flags for the same, into net::ZosNetworkSpec. WireGuard
// keys are base64 of 32 bytes, as `wg` writes them; the public key is derived from the private
// one (X25519, libsodium) and a given one must match it. Also `network keygen`.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "net/zos_network.hpp"

namespace tiffin::zos {

// A WireGuard key from its base64 form; Errc::invalid_input naming `what` otherwise.
Result<net::WgKey> parse_wg_key(std::string_view base64, const std::string& what);
std::string wg_key_base64(const net::WgKey& key);
net::WgKey wg_public_key(const net::WgKey& private_key);
// A new key pair, as `wg genkey | wg pubkey` makes it: {private, public}.
Result<std::pair<net::WgKey, net::WgKey>> wg_keygen();

// One --peer flag: comma-separated key=value pairs, "pubkey=KEY,subnet=10.20.4.0/24,
// allowed-ips=10.20.4.0/24,100.64.20.4/32,endpoint=192.0.2.4:51820" (a bare CIDR after
// allowed-ips is another allowed IP). Without allowed-ips: the peer's subnet and its routing
// address (100.64.x.y/32), as Zero-OS's peers have them.
Result<net::ZosPeer> parse_peer_flag(std::string_view text);
// A peer of Zero-OS's JSON; `where` names it in errors ("peers[2]").
Result<net::ZosPeer> parse_peer_json(const nlohmann::json& j, const std::string& where);

// The whole resource from Zero-OS's JSON (validated; the public key derived or checked).
// `name` overrides the document's name when not empty.
Result<net::ZosNetworkSpec> parse_net_resource(const nlohmann::json& j, const std::string& name);
// Completes and checks a resource made from flags: the public key from the private one.
Result<void> finish_net_resource(net::ZosNetworkSpec& spec, std::string_view private_key_b64, std::string_view public_key_b64);

}  // namespace tiffin::zos
