// The resolver's event loop (tiffin-dns): one thread on epoll, holding no state but what it reads
// from `<dns-dir>`.
//
// - The directory is watched with inotify; any change to a network file reloads the directory:
//   every file is parsed first, then the new set replaces the old in one step (a query sees the
//   old networks or the new, never a mix). A file that does not parse keeps its previous version
//   (see network_file.hpp); a removed file takes its network and its listen addresses away.
// - Each listen address gets a UDP and a TCP socket bound with IP_FREEBIND, so an address whose
//   bridge is not up yet can be bound already; binds that still fail (the port is taken) are
//   retried on every reload and every second. A query is answered from the network that owns
//   the address it arrived on, and only from it (networks are isolated as docker's are).
// - Other names are forwarded: over UDP with a fresh id (forward_table.hpp), each upstream in turn
//   with `upstream_timeout` each, SERVFAIL when none answered; a TCP query over TCP the same way.
//   Replies pass through as they are (a truncated one too, so the client retries over TCP).
// - With no network file in the directory for `idle_exit`, the resolver lets go of its lock,
//   looks once more, and exits if it is still empty (or if another resolver took the lock);
//   otherwise it takes the lock back and carries on. The engine writes a network file before
//   calling ensure_resolver, so either this resolver sees the file or the engine sees no lock
//   and starts a new one: a network is never left without a resolver.
// - SIGTERM and SIGINT end it; the directory being removed ends it.
#pragma once

#include <chrono>
#include <string>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace tiffin::dns {

struct ResolverOptions {
  std::string dir;
  std::chrono::milliseconds idle_exit{30000};
  std::chrono::milliseconds upstream_timeout{2000};
  std::chrono::milliseconds bind_retry{1000};
  std::chrono::milliseconds tcp_idle{10000};
  int ready_fd = -1;  // "ok\n" is written there once the directory has been read, then closed
};

// Runs until the resolver exits (idle, signal, directory gone); `lock` is take_resolver_lock's.
Result<void> run_resolver(const ResolverOptions& options, UniqueFd lock);

}  // namespace tiffin::dns
