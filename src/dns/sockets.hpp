// The resolver's sockets: endpoints as socket addresses, listening sockets, connections to
// upstreams. All non-blocking and close-on-exec.
#pragma once

#include <sys/socket.h>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "dns/network_file.hpp"

namespace tiffin::dns {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t len = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
};

SocketAddress to_socket_address(const Endpoint& e);
// Whether `a` is `e` (a v4 upstream may answer on a v4-mapped v6 socket: not here, sockets are
// per family).
bool same_endpoint(const SocketAddress& a, const Endpoint& e);

// A UDP (SOCK_DGRAM) or listening TCP (SOCK_STREAM) socket on `e`, with IP_FREEBIND so the
// address need not be configured yet. TCP gets SO_REUSEADDR (a restart must not wait for
// TIME_WAIT); UDP does not (it would let a second process share the address).
Result<UniqueFd> listen_on(const Endpoint& e, int type);

// An unbound UDP socket of `e`'s family, for sending to upstreams from an ephemeral port.
Result<UniqueFd> udp_client_socket(bool v4);

// A TCP connection to `e` under way (connect returned EINPROGRESS or succeeded).
Result<UniqueFd> connect_tcp(const Endpoint& e);

}  // namespace tiffin::dns
