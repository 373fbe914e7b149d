// WireGuard's configuration protocol for userspace implementations (wireguard.com/xplatform):
// a unix socket per interface, /var/run/wireguard/<ifname>.sock, carrying "set=1" and "get=1"
// requests as key=value lines, answered with "errno=N". This is how wireguard-go is
// configured (the kernel's module takes the same settings over generic netlink instead); the
// text half is pure and unit-tested, the socket half is three calls.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "net/address.hpp"

namespace tiffin::net {

using WgKey = std::array<uint8_t, 32>;

// An endpoint as WireGuard takes it: a numeric address and a port ("192.0.2.1:51820",
// "[2001:db8::1]:51820"). Names are refused: resolving them is not the node's business.
struct WgEndpoint {
  IpAddress address;
  uint16_t port = 0;
  static Result<WgEndpoint> parse(std::string_view text);
  std::string str() const;
};

struct WgPeerConfig {
  WgKey public_key{};
  std::optional<WgEndpoint> endpoint;
  std::vector<Cidr> allowed_ips;
  unsigned keepalive_seconds = 0;  // 0: off
};

struct WgDeviceConfig {
  WgKey private_key{};
  uint16_t listen_port = 0;
  std::vector<WgPeerConfig> peers;
};

struct WgPeerStatus {
  WgKey public_key{};
  std::optional<WgEndpoint> endpoint;
  std::vector<Cidr> allowed_ips;
  int64_t last_handshake_sec = 0;  // 0: never
  uint64_t rx_bytes = 0, tx_bytes = 0;
};

struct WgDeviceStatus {
  uint16_t listen_port = 0;
  std::vector<WgPeerStatus> peers;
};

// The peers of `current` that `config` no longer has: removed one by one on a live device (both
// configuration protocols do it so, to leave the sessions of the others alone).
std::vector<WgKey> peers_gone(const WgDeviceConfig& config, const WgDeviceStatus& current);

// A "set=1" request that makes the device's peers exactly `config`'s without disturbing the
// sessions of peers that stay: peers of `current` that are gone are removed one by one, the
// others are updated in place (their allowed IPs replaced), new ones added. With no `current`
// (a fresh device) every peer is replaced. With `current`, the device's own settings (private
// key, listen port) are left out: setting the port again would rebind its socket.
std::string uapi_set_request(const WgDeviceConfig& config, const WgDeviceStatus* current);
// Parses the answer to "get=1" (up to and including "errno=0"); an errno other than 0 is an error.
Result<WgDeviceStatus> parse_uapi_get(std::string_view answer);

// The socket path of `ifname`'s userspace implementation.
std::string uapi_socket_path(const std::string& ifname);
// Sends `request` to the device's socket and returns the answer's text (up to the blank line).
// Errc::unavailable when nothing listens there.
Result<std::string> uapi_call(const std::string& ifname, const std::string& request);
Result<void> uapi_set(const std::string& ifname, const WgDeviceConfig& config, const WgDeviceStatus* current);
Result<WgDeviceStatus> uapi_get(const std::string& ifname);

}  // namespace tiffin::net
