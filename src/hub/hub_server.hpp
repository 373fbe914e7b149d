// `tiffin hub serve`: the hub's HTTP(S) server, asynchronous (Boost.Beast on Asio with C++20
// coroutines). A few I/O threads hold every connection; blocks and flists go out straight from
// the page cache (sendfile) on those threads, and every request that does real work (uploads,
// listings, conversions, batches) runs on a bounded pool of workers, so an idle or slow
// connection costs a few KiB of memory and no thread (except a streamed answer, a batch: its
// worker waits for the client to read, so at most half the workers stream at once).
//
// Limits that keep one client from denying the others (hub_session.cpp applies them):
// - connections: at most max_connections in all (more get 503 + Retry-After), and
//   ClientLimitOptions::max_connections_per_client per address (more get 429);
// - requests: a token bucket per address (ClientLimitOptions; beyond it, 429 + Retry-After);
// - time: an idle keep-alive connection goes after idle_timeout; a request's header must arrive
//   whole within header_timeout of its first byte; a body must keep up min_body_rate after
//   body_grace (slowloris, either way); an answer must be taken at that rate too;
// - memory: headers ≤ 16 KiB; in-memory bodies ≤ 9 MiB each and max_body_memory in all
//   (beyond it, 503); larger uploads stream to files, refused from their header when the
//   token may not write there; the worker queue holds max_queued requests (beyond it, 503).
// GET /metrics counts requests, latency, bytes, connections and every refusal by reason.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "hub/client_limits.hpp"
#include "hub/hub_repository.hpp"

namespace tiffin::hub {

struct HubServeOptions {
  std::string root = "/var/lib/tiffin/hub";
  std::string listen = "127.0.0.1:8080";         // host:port; port 0 picks a free one
  std::string public_url;                        // how clients reach this hub (default http(s)://listen)
  std::vector<std::string> insecure_registries;  // conversions reach these over plain http
  std::string key_file;                          // default <root>/hub.key, created on first start
  std::string tls_cert, tls_key;                 // PEM files: serve HTTPS instead of HTTP
  unsigned max_connections = 16384;              // clamped to what the open-file limit allows
  uint64_t max_upload = uint64_t(8) << 30;       // tar and flist uploads
  std::chrono::seconds idle_timeout{60};
  std::chrono::seconds header_timeout{10};
  std::chrono::seconds body_grace{10};
  uint64_t min_body_rate = 4096;  // bytes/s, for request bodies and for answers
  uint64_t max_body_memory = uint64_t(512) << 20;
  unsigned io_threads = 0;  // 0: one per CPU
  unsigned workers = 16;
  unsigned max_queued = 256;
  ClientLimitOptions clients;
  HubLimits limits;
};

class HubServer {
 public:
  static Result<std::unique_ptr<HubServer>> start(const HubServeOptions& opts);
  virtual ~HubServer() = default;
  virtual uint16_t port() const = 0;
  virtual std::string public_url() const = 0;
  // The page GET /metrics serves.
  virtual std::string metrics() const = 0;
  // Closes the listener and every connection, and waits for the sessions to end.
  virtual void stop() = 0;
};

// Serves until SIGTERM or SIGINT. Prints "listening on <url>" to stderr once ready. Raises the
// open-file limit to its hard maximum first: every connection is a descriptor.
Result<void> serve_hub(const HubServeOptions& opts);

}  // namespace tiffin::hub
