// `tiffin serve`: the Engine API on a unix socket (docker's /run/docker.sock model: mode 0660,
// owned by a group of the admin's choosing), and optionally on TCP — only with TLS that
// requires client certificates signed by the given CA (docker's --tlsverify), or plainly when
// the admin says --insecure-tcp. Also takes sockets from systemd (socket activation).
// One thread per connection (streams and hijacked attaches live long); a reaper cuts
// connections that stay silent while a request is being read, so slow clients cannot pile up.
// The containers are not the server's: they run under their shims and outlive it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "engine/engine.hpp"

namespace tiffin::api {

struct ServeOptions {
  engine::EngineOptions engine;
  // unix:///path, tcp://host:port, fd:// (systemd's sockets); default unix:///run/tiffin/docker.sock
  std::vector<std::string> hosts;
  std::string socket_group;               // the unix socket's group (name or gid); empty: root's
  std::string tls_ca, tls_cert, tls_key;  // TCP: the server's certificate and the CA clients' certificates must come from
  bool insecure_tcp = false;              // TCP without TLS (refused otherwise)
  // tcp://host:port listeners of the Zero-OS API alone (/zos/v1): every call there carries its
  // own authentication (a user's signature or the node's admin token), the Docker API is not
  // reachable through them.
  std::vector<std::string> zos_hosts;
  std::chrono::seconds request_timeout{60};  // to read one request's head and body
  size_t max_body = size_t(64) << 20;
  // POST /build's body (the context's tar): spooled to an unnamed file under <root>/tmp, not
  // memory; the request timeout then applies to each stretch without progress.
  uint64_t max_build_context = uint64_t(4) << 30;
  size_t max_header = 64 << 10;
  unsigned max_connections = 1024;
};

class ApiServer {
 public:
  static Result<std::unique_ptr<ApiServer>> start(const ServeOptions& opts);
  virtual ~ApiServer() = default;
  // Where it listens, as "unix:///…" or "tcp://host:port" (the port picked when 0 was asked).
  virtual std::vector<std::string> endpoints() const = 0;
  // Stops accepting, cuts every connection, gives the requests in flight 5 s to end; whether
  // they all did (a wait for a running container may not: the caller then exits without
  // destroying the server under them).
  virtual bool stop() = 0;
};

// Serves until SIGTERM or SIGINT; prints "listening on <endpoint>" lines to stderr once ready.
Result<void> serve(const ServeOptions& opts);

}  // namespace tiffin::api
