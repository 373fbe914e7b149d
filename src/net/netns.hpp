// Network namespaces that outlive their processes, as `ip netns add` makes them: a namespace
// with lo up, kept alive by a bind mount of its nsfs file on a path. The engine makes one per
// container (<run-root>/netns/<id>) and the container's spec joins it by path, so the network
// is the engine's to set up before the program runs and survives restarts of the container.
#pragma once

#include <functional>
#include <string>

#include "common/error.hpp"

namespace tiffin::net {

// Makes the namespace and mounts it on `path` (a new file); Errc::conflict if a namespace is
// mounted there already. Nothing is left behind on failure.
Result<void> create_netns(const std::string& path);
// Unmounts and removes `path`; a path that is not there is not an error.
Result<void> remove_netns(const std::string& path);
// Whether a network namespace is mounted on `path`.
bool netns_mounted(const std::string& path);

// Runs `fn` on a short-lived thread that has joined the network namespace at `path` (a mounted
// namespace or /proc/<pid>/ns/net) and returns its result. A netns is a property of a thread, so
// the process itself never moves; what `fn` opens there (netlink sockets, /proc/sys/net files)
// stays bound to that namespace after the thread is gone.
Result<void> run_in_netns(const std::string& path, const std::function<Result<void>()>& fn);

}  // namespace tiffin::net
