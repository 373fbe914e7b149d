// wireguard-go, WireGuard in userspace over TUN, for kernels without the WireGuard module (as
// on these machines). One process per interface, started daemonised in the calling process's
// network namespace, which is where its UDP socket lives; its TUN interface may be moved to
// another namespace afterwards (wireguard-go notices the link going up there by itself).
// Configuration goes through its UAPI socket (wireguard_uapi.hpp).
#pragma once

#include <sys/types.h>

#include <string>

#include "common/error.hpp"

namespace tiffin::net {

// Whether a wireguard-go (or any UAPI server) answers for `ifname`.
bool wireguard_go_alive(const std::string& ifname);
// Starts `binary` (wireguard-go, searched in PATH) for `ifname` and returns once its UAPI socket
// answers (at most 5 s). Its output goes to `log_path`. A process left from before on the same
// socket is stopped first.
Result<void> start_wireguard_go(const std::string& binary, const std::string& ifname, const std::string& log_path);
// Stops the process serving `ifname`'s socket (found by the socket's peer credentials) and
// waits for it to go (its TUN interface goes with it). Nothing serving it is not an error.
Result<void> stop_wireguard_go(const std::string& ifname);

}  // namespace tiffin::net
