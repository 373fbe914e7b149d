// `tiffin hub serve`: the hub's HTTP(S) server (Boost.Beast). One thread per connection with
// keep-alive; a reaper closes connections that stay silent past the idle timeout, so a slow or
// stuck client cannot hold a thread forever. Large uploads stream to a file, never to memory.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "hub/hub_repository.hpp"

namespace tiffin::hub {

struct HubServeOptions {
  std::string root = "/var/lib/tiffin/hub";
  std::string listen = "127.0.0.1:8080";  // host:port; port 0 picks a free one
  std::string public_url;                 // how clients reach this hub (default http(s)://listen)
  std::string key_file;                   // default <root>/hub.key, created on first start
  std::string tls_cert, tls_key;          // PEM files: serve HTTPS instead of HTTP
  unsigned max_connections = 256;
  uint64_t max_upload = uint64_t(8) << 30;  // tar and flist uploads
  std::chrono::seconds idle_timeout{60};
  HubLimits limits;
};

class HubServer {
 public:
  static Result<std::unique_ptr<HubServer>> start(const HubServeOptions& opts);
  virtual ~HubServer() = default;
  virtual uint16_t port() const = 0;
  virtual std::string public_url() const = 0;
  // Closes the listener and every connection, and waits for the sessions to end.
  virtual void stop() = 0;
};

// Serves until SIGTERM or SIGINT. Prints "listening on <url>" to stderr once ready.
Result<void> serve_hub(const HubServeOptions& opts);

}  // namespace tiffin::hub
