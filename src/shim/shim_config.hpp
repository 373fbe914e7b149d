// What the engine tells a container's shim: written to <state dir>/shim.conf (a Fields record)
// before the shim starts, passed as its only argument.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "shim/health.hpp"

namespace tiffin::shim {

struct ShimConfig {
  std::string id;
  std::string bundle;        // holds config.json; the rootfs is mounted by the engine
  std::string runtime;       // the OCI runtime the shim drives (tiffin-oci; runc's command line)
  std::string runtime_root;  // its --root
  std::string state_dir;     // persistent: status, container.log
  std::string run_dir;       // volatile and short: shim.sock, console.sock, shim.pid, init.pid
  uint64_t log_max_bytes = 10 << 20;
  unsigned log_max_files = 2;
  std::string stdout_redis, stderr_redis, stats_redis;  // redis://… or empty
  unsigned stats_interval_ms = 2000;
  std::string restart = "no";
  bool tty = false;
  bool open_stdin = false;   // -i: stdin is a pipe fed by attached clients
  bool auto_remove = false;  // --rm: tear down once stopped for good (below)
  // The engine passes a secret environment as fd 4 (common/env_memfd.hpp); the shim holds it
  // and gives it to the runtime at each start (--env-fd). Only the flag is in this file.
  bool secret_env = false;
  // With auto_remove, what the shim undoes itself once the container stopped for good, in order:
  // mounts to detach, then files and directories to delete (never through a mount). The last
  // tree is the container's directory: it goes once the runtime's delete is done too, and the
  // engine's record of the container goes when it has gone.
  std::vector<std::string> teardown_unmount, teardown_remove;
  HealthSettings health;  // the probe the shim runs through `<runtime> exec` (shim/health.hpp)
  // The node's event log (common/event_log.hpp), where the shim records the container's start
  // (each run), die, health_status and (with auto_remove) destroy, with these attributes (key=value: name,
  // image, labels); empty: no events.
  std::string events_path;
  std::vector<std::string> event_attributes;

  std::string log_path() const { return state_dir + "/container.log"; }
  std::string status_path() const { return state_dir + "/status"; }
  std::string socket_path() const { return run_dir + "/shim.sock"; }
  std::string console_socket() const { return run_dir + "/console.sock"; }
  std::string lock_path() const { return run_dir + "/shim.pid"; }  // locked while the shim lives
  std::string init_pid_file() const { return run_dir + "/init.pid"; }
  std::string probe_pid_file() const { return run_dir + "/probe.pid"; }

  bool operator==(const ShimConfig&) const = default;
};

std::string encode_config(const ShimConfig& c);
// Strict: unknown keys and missing required ones are Errc::invalid_input.
Result<ShimConfig> decode_config(std::string_view text);

}  // namespace tiffin::shim
