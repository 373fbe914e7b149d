#include "net/wireguard_uapi.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstring>
#include <map>

#include "common/fd.hpp"
#include "common/unix_socket.hpp"
#include "common/hex.hpp"

namespace tiffin::net {
namespace {

std::string key_hex(const WgKey& k) { return to_hex(std::span<const uint8_t>(k.data(), k.size())); }

Result<WgKey> key_from_hex(std::string_view text) {
  auto bytes = from_hex(text);
  if (!bytes || bytes->size() != 32) return fail(Errc::invalid_input, "'" + std::string(text) + "' is not a 32-byte hex key");
  WgKey k;
  std::copy(bytes->begin(), bytes->end(), k.begin());
  return k;
}

template <class Int>
Result<Int> number(std::string_view key, std::string_view text) {
  Int v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size())
    return fail(Errc::invalid_input, "WireGuard answered " + std::string(key) + "=" + std::string(text) + ": not a number");
  return v;
}

}  // namespace

Result<WgEndpoint> WgEndpoint::parse(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return fail(Errc::invalid_input, "endpoint '" + std::string(text) + "': " + why + " (want ADDRESS:PORT, [IPv6]:PORT)");
  };
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return bad("no port");
  std::string_view host = text.substr(0, colon), port = text.substr(colon + 1);
  if (host.front() == '[') {
    if (host.back() != ']') return bad("unbalanced brackets");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return bad("an IPv6 address needs brackets");
  }
  auto address = IpAddress::parse(host);
  if (!address) return bad("'" + std::string(host) + "' is not a numeric IP address");
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535) return bad("bad port");
  return WgEndpoint{*address, static_cast<uint16_t>(p)};
}

std::string WgEndpoint::str() const { return (address.is_v4() ? address.str() : "[" + address.str() + "]") + ":" + std::to_string(port); }

std::vector<WgKey> peers_gone(const WgDeviceConfig& config, const WgDeviceStatus& current) {
  std::vector<WgKey> out;
  for (const auto& old : current.peers) {
    bool kept = false;
    for (const auto& p : config.peers) kept = kept || p.public_key == old.public_key;
    if (!kept) out.push_back(old.public_key);
  }
  return out;
}

std::string uapi_set_request(const WgDeviceConfig& config, const WgDeviceStatus* current) {
  std::string r = "set=1\n";
  if (!current) {
    r += "private_key=" + key_hex(config.private_key) + "\n";
    r += "listen_port=" + std::to_string(config.listen_port) + "\n";
    r += "replace_peers=true\n";
  } else {
    for (const auto& gone : peers_gone(config, *current)) r += "public_key=" + key_hex(gone) + "\nremove=true\n";
  }
  for (const auto& p : config.peers) {
    r += "public_key=" + key_hex(p.public_key) + "\n";
    if (p.endpoint) r += "endpoint=" + p.endpoint->str() + "\n";
    r += "persistent_keepalive_interval=" + std::to_string(p.keepalive_seconds) + "\n";
    r += "replace_allowed_ips=true\n";
    for (const auto& a : p.allowed_ips) r += "allowed_ip=" + a.str() + "\n";
  }
  return r + "\n";
}

Result<WgDeviceStatus> parse_uapi_get(std::string_view answer) {
  WgDeviceStatus st;
  WgPeerStatus* peer = nullptr;
  bool ended = false;
  while (!answer.empty()) {
    size_t nl = answer.find('\n');
    std::string_view line = answer.substr(0, nl);
    answer.remove_prefix(nl == std::string_view::npos ? answer.size() : nl + 1);
    if (line.empty()) continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) return fail(Errc::invalid_input, "WireGuard answered a line without '=': " + std::string(line));
    std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "errno") {
      int e = TRY(number<int>(key, value));
      if (e != 0) return fail(Errc::io, "WireGuard's get failed: errno " + std::to_string(e));
      ended = true;
      break;
    }
    if (key == "listen_port") st.listen_port = TRY(number<uint16_t>(key, value));
    else if (key == "public_key") {
      st.peers.emplace_back();
      peer = &st.peers.back();
      peer->public_key = TRY(key_from_hex(value));
    } else if (!peer) continue;  // private_key, fwmark: the device's own
    else if (key == "endpoint") peer->endpoint = TRY(WgEndpoint::parse(value));
    else if (key == "allowed_ip") peer->allowed_ips.push_back(TRY(Cidr::parse(value, false)));
    else if (key == "last_handshake_time_sec") peer->last_handshake_sec = TRY(number<int64_t>(key, value));
    else if (key == "rx_bytes") peer->rx_bytes = TRY(number<uint64_t>(key, value));
    else if (key == "tx_bytes") peer->tx_bytes = TRY(number<uint64_t>(key, value));
  }
  if (!ended) return fail(Errc::io, "WireGuard's answer ended without errno");
  return st;
}

std::string uapi_socket_path(const std::string& ifname) { return "/var/run/wireguard/" + ifname + ".sock"; }

Result<std::string> uapi_call(const std::string& ifname, const std::string& request) {
  std::string path = uapi_socket_path(ifname);
  auto connected = connect_unix(path);
  if (!connected) {
    int e = connected.error().sys_errno;
    auto err = std::unexpected(std::move(connected).error().context("connecting to WireGuard's socket"));
    if (e == ENOENT || e == ECONNREFUSED) err.error().kind = Errc::unavailable;
    return err;
  }
  UniqueFd s = std::move(*connected);
  for (size_t off = 0; off < request.size();) {
    ssize_t n = ::send(s.get(), request.data() + off, request.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("writing to " + path);
    off += static_cast<size_t>(n);
  }
  // The answer ends with a blank line; a device with many peers answers a few kilobytes. 5 s
  // for all of it, not per read.
  std::string answer;
  char buf[4096];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (answer.find("\n\n") == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    pollfd p{s.get(), POLLIN, 0};
    int r = left > 0 ? ::poll(&p, 1, static_cast<int>(left)) : 0;
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return fail(Errc::unavailable, path + ": no answer within 5 s");
    ssize_t n = ::recv(s.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("reading from " + path);
    if (n == 0) break;
    answer.append(buf, static_cast<size_t>(n));
    if (answer.size() > (16u << 20)) return fail(Errc::io, path + ": answer too large");
  }
  return answer;
}

Result<void> uapi_set(const std::string& ifname, const WgDeviceConfig& config, const WgDeviceStatus* current) {
  auto answer = uapi_call(ifname, uapi_set_request(config, current));
  if (!answer) return std::unexpected(answer.error());
  if (answer->starts_with("errno=0\n")) return {};
  std::string first = answer->substr(0, answer->find('\n'));
  return fail(Errc::invalid_input, "configuring WireGuard interface " + ifname + ": it answered " + first);
}

Result<WgDeviceStatus> uapi_get(const std::string& ifname) {
  return TRY_CTX(parse_uapi_get(TRY(uapi_call(ifname, "get=1\n\n"))), "reading WireGuard interface " + ifname);
}

}  // namespace tiffin::net
