// Starting and finding the node's resolver (tiffin-dns). tiffin has no daemon: the engine calls
// ensure_resolver before a container on a bridge network starts, and the first call on a node
// (or the first after the resolver died or exited) starts one. The only state is files in
// `<dns-dir>`: the network files, and `resolver.pid`, on which the live resolver holds an
// open-file-description write lock for its whole life (as a shim does on its shim.pid). The lock
// dies with the process, so a resolver killed with -9 is never mistaken for a live one.
#pragma once

#include <string>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "dns/network_file.hpp"

namespace tiffin::dns {

// "<dns_dir>/resolver.pid" and "<dns_dir>/resolver.log" (the detached resolver's stderr).
std::string resolver_lock_path(const std::string& dns_dir);
std::string resolver_log_path(const std::string& dns_dir);

// Whether a resolver holds the lock: one open and one F_OFD_GETLK, never taking the lock.
bool resolver_alive(const std::string& dns_dir);

// Makes sure a resolver serves `dns_dir` (created 0755 if missing). When one is alive this is
// resolver_alive's cost and nothing more. Otherwise it starts `resolver_binary DIR --ready-fd 3`
// detached (double fork, new session, stdin /dev/null, stdout/stderr appended to the log, no
// other fds) and waits, at most 5 s, for it to say it holds the lock and has read the directory
// (or that another resolver won the race, which is as good). The resolver outlives the caller.
Result<void> ensure_resolver(const std::string& dns_dir, const std::string& resolver_binary);

// The engine's side of the files. `<dns_dir>/<network>.conf` is written atomically (temp +
// rename: the resolver reads the old file or the new, never part of one) after checking that the
// resolver will take it (invalid_input otherwise, nothing written). Write before calling
// ensure_resolver: a resolver about to exit for want of networks then sees the file (resolver.hpp).
Result<void> write_network_file(const std::string& dns_dir, const NetworkFile& file);
// Removes the network's file; a missing one is not an error.
Result<void> remove_network_file(const std::string& dns_dir, const std::string& network);

// For the resolver itself: takes the lock (Errc::conflict when another process holds it) and
// writes this process's pid into the file.
Result<UniqueFd> take_resolver_lock(const std::string& dns_dir);

}  // namespace tiffin::dns
