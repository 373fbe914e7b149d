#include "net/host_ports.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

#include "common/fd.hpp"

namespace tiffin::net {
namespace {

constexpr int kTcpListen = 0x0A;       // include/net/tcp_states.h
constexpr int kUdpUnconnected = 0x07;  // TCP_CLOSE: how /proc shows an unconnected UDP socket

std::optional<uint32_t> hex(std::string_view s) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// "0100007F:1F90": the address as 32-bit words printed in the kernel's (this host's) byte
// order, so copying each word's value back into memory gives the bytes in network order.
bool parse_endpoint(std::string_view s, bool v6, std::array<uint8_t, 16>& addr, uint16_t& port) {
  size_t colon = s.find(':');
  size_t words = v6 ? 4 : 1;
  if (colon != words * 8) return false;
  for (size_t w = 0; w < words; ++w) {
    auto v = hex(s.substr(w * 8, 8));
    if (!v) return false;
    std::memcpy(addr.data() + w * 4, &*v, 4);
  }
  auto p = hex(s.substr(colon + 1));
  if (!p || *p > 0xffff) return false;
  port = static_cast<uint16_t>(*p);
  return true;
}

std::string_view next_field(std::string_view& line) {
  size_t b = line.find_first_not_of(' ');
  if (b == std::string_view::npos) return line = {}, std::string_view{};
  line.remove_prefix(b);
  size_t e = std::min(line.find(' '), line.size());
  std::string_view f = line.substr(0, e);
  line.remove_prefix(e);
  return f;
}

bool probe_bind(const PublishedPort& p) {
  bool v6 = p.host_ip && !p.host_ip->is_v4();
  UniqueFd s(::socket(v6 ? AF_INET6 : AF_INET, (p.proto == Proto::tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0));
  if (!s) return true;
  int rc;
  if (v6) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(p.host_port);
    std::copy(p.host_ip->bytes(), p.host_ip->bytes() + 16, a.sin6_addr.s6_addr);
    rc = ::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(p.host_port);
    if (p.host_ip) std::copy(p.host_ip->bytes(), p.host_ip->bytes() + 4, reinterpret_cast<uint8_t*>(&a.sin_addr));
    rc = ::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  // An address this host does not have (EADDRNOTAVAIL) is free for a DNAT rule all the same.
  return rc == 0 || errno != EADDRINUSE;
}

}  // namespace

bool socket_table_has_server(std::string_view table, bool v6, Proto proto, const std::optional<IpAddress>& ip, uint16_t port) {
  const int wanted_state = proto == Proto::tcp ? kTcpListen : kUdpUnconnected;
  bool header = true;
  while (!table.empty()) {
    size_t nl = std::min(table.find('\n'), table.size());
    std::string_view line = table.substr(0, nl);
    table.remove_prefix(std::min(nl + 1, table.size()));
    if (std::exchange(header, false)) continue;
    next_field(line);  // "sl:"
    std::array<uint8_t, 16> local{}, remote{};
    uint16_t local_port = 0, remote_port = 0;
    if (!parse_endpoint(next_field(line), v6, local, local_port)) continue;
    if (!parse_endpoint(next_field(line), v6, remote, remote_port)) continue;
    auto state = hex(next_field(line));
    if (!state || static_cast<int>(*state) != wanted_state || local_port != port) continue;
    if (proto == Proto::udp && remote_port != 0) continue;  // a connected client, not a server
    const size_t n = v6 ? 16 : 4;
    bool wildcard = std::all_of(local.begin(), local.begin() + n, [](uint8_t b) { return b == 0; });
    if (!ip || wildcard || ip->is_unspecified()) return true;
    if (ip->size() == n && std::equal(local.begin(), local.begin() + n, ip->bytes())) return true;
  }
  return false;
}

bool host_port_free(const PublishedPort& p) {
  if (probe_bind(p)) return true;
  const char* base = p.proto == Proto::tcp ? "/proc/net/tcp" : "/proc/net/udp";
  for (bool v6 : {false, true}) {
    auto text = read_file(std::string(base) + (v6 ? "6" : ""), 64 << 20);
    if (!text) return false;  // cannot tell: trust the probe
    std::string_view table(reinterpret_cast<const char*>(text->data()), text->size());
    if (socket_table_has_server(table, v6, p.proto, p.host_ip, p.host_port)) return false;
  }
  return true;
}

}  // namespace tiffin::net
