// Whether a port of this host is taken by a server, for publishing it. A port is taken when a
// TCP socket listens on it or an unconnected UDP socket is bound to it, at the address asked
// for or at the wildcard. Sockets that merely use the number — an outgoing connection's local
// port, a TIME_WAIT left by one — do not take it: they would make a bind fail, but a DNAT rule
// for incoming traffic does not collide with them, and docker does not refuse for them either.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "net/address.hpp"
#include "net/port_spec.hpp"

namespace tiffin::net {

// Whether a kernel socket table (the text of /proc/net/{tcp,tcp6,udp,udp6}) holds a server
// on `port` that `ip` reaches (none: any address). `v6` says which family the table lists.
bool socket_table_has_server(std::string_view table, bool v6, Proto proto, const std::optional<IpAddress>& ip, uint16_t port);

// Whether nothing on the host serves the published port: a bind probe first (free: done), then
// the kernel's socket tables of this network namespace to tell a server from a mere user.
bool host_port_free(const PublishedPort& p);

}  // namespace tiffin::net
