#include "dns/sockets.hpp"

#include <netinet/in.h>
#include <unistd.h>

#include <cstring>

namespace tiffin::dns {

SocketAddress to_socket_address(const Endpoint& e) {
  SocketAddress a;
  if (e.address.is_v4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(&a.storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(e.port);
    std::memcpy(&in->sin_addr, e.address.bytes(), 4);
    a.len = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(e.port);
    std::memcpy(&in6->sin6_addr, e.address.bytes(), 16);
    a.len = sizeof(sockaddr_in6);
  }
  return a;
}

bool same_endpoint(const SocketAddress& a, const Endpoint& e) {
  SocketAddress want = to_socket_address(e);
  if (a.storage.ss_family != want.storage.ss_family) return false;
  if (a.storage.ss_family == AF_INET) {
    auto* x = reinterpret_cast<const sockaddr_in*>(&a.storage);
    auto* y = reinterpret_cast<const sockaddr_in*>(&want.storage);
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  auto* x = reinterpret_cast<const sockaddr_in6*>(&a.storage);
  auto* y = reinterpret_cast<const sockaddr_in6*>(&want.storage);
  return x->sin6_port == y->sin6_port && std::memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

Result<UniqueFd> listen_on(const Endpoint& e, int type) {
  int family = e.address.is_v4() ? AF_INET : AF_INET6;
  UniqueFd fd(::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return fail_errno("socket");
  int one = 1;
  if (family == AF_INET6) (void)::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  // IP_FREEBIND applies to IPv6 sockets too (since Linux 4.15).
  (void)::setsockopt(fd.get(), IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
  if (type == SOCK_STREAM) (void)::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  SocketAddress a = to_socket_address(e);
  const char* what = type == SOCK_STREAM ? "TCP" : "UDP";
  if (::bind(fd.get(), a.get(), a.len) != 0) return fail_errno(std::string("binding ") + what + " " + e.str());
  if (type == SOCK_STREAM && ::listen(fd.get(), 128) != 0) return fail_errno("listening on " + e.str());
  return fd;
}

Result<UniqueFd> udp_client_socket(bool v4) {
  UniqueFd fd(::socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return fail_errno("socket");
  return fd;
}

Result<UniqueFd> connect_tcp(const Endpoint& e) {
  UniqueFd fd(::socket(e.address.is_v4() ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return fail_errno("socket");
  SocketAddress a = to_socket_address(e);
  if (::connect(fd.get(), a.get(), a.len) != 0 && errno != EINPROGRESS) return fail_errno("connecting to " + e.str());
  return fd;
}

}  // namespace tiffin::dns
