// The Engine API over the engine library: docker's routes, each a handler that opens the engine
// (its state is files and SQLite, shared with the CLI, so what either does the other sees at
// once), and docker's JSON and errors. No socket here: api_server feeds it requests, the tests
// can too.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "api/http_exchange.hpp"
#include "api/router.hpp"
#include "engine/engine.hpp"

namespace tiffin::api {

class AttachBroker;
class ExecStore;

class EngineApi {
 public:
  using Handler = std::function<Result<Response>(Request&)>;

  explicit EngineApi(engine::EngineOptions opts);
  ~EngineApi();

  // Routes the request (path already without its version prefix) and answers; never throws.
  Response handle(Request& r);

  void route(const std::string& method, std::string_view pattern, Handler h) { router_.add(method, pattern, std::move(h)); }
  Result<engine::Engine> engine() const { return engine::Engine::open(opts_); }
  const engine::EngineOptions& options() const { return opts_; }
  AttachBroker& attaches() { return *attaches_; }
  // For threads that may outlive a request (they hold the broker, not the API).
  std::shared_ptr<AttachBroker> shared_attaches() { return attaches_; }
  ExecStore& execs() { return *execs_; }

 private:
  engine::EngineOptions opts_;
  Router<Handler> router_;
  std::shared_ptr<AttachBroker> attaches_;
  std::unique_ptr<ExecStore> execs_;
};

// The endpoint families, one file each.
void add_system_endpoints(EngineApi& api);
void add_container_endpoints(EngineApi& api);
void add_exec_endpoints(EngineApi& api);
void add_image_endpoints(EngineApi& api);
void add_build_endpoints(EngineApi& api);  // POST /build (docker build's classic builder)
void add_volume_endpoints(EngineApi& api);
void add_network_endpoints(EngineApi& api);
void add_event_endpoints(EngineApi& api);
void add_stats_endpoints(EngineApi& api);
void add_container_files_endpoints(EngineApi& api);  // archive (docker cp), changes
void add_zos_endpoints(EngineApi& api);              // /zos/v1: Zero-OS workloads and node management

// A container's id; docker's "No such container: x" (404) for a name or id nobody has.
Result<std::string> container_id(engine::Engine& e, const std::string& ref);

}  // namespace tiffin::api
