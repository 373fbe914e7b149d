// What the engine tells a container's shim, written to <state dir>/shim.conf before the shim
// starts: one "key=value" a line (values are paths, URLs and flags, never newlines). A plain
// format on purpose: the shim stays small and parses it without a JSON library.
#pragma once

#include <cstdint>
#include <string>

#include "common/error.hpp"

namespace tiffin::shim {

struct ShimConfig {
  std::string id;
  std::string bundle;        // holds config.json; the rootfs is mounted by the engine
  std::string runtime_root;  // the runtime's state directories
  std::string state_dir;     // persistent: status.json, container.log, stop-requested
  std::string run_dir;       // volatile and short: attach.sock, console.sock, shim.pid
  uint64_t log_max_bytes = 10 << 20;
  unsigned log_max_files = 2;
  std::string stdout_redis, stderr_redis, stats_redis;  // redis://… or empty
  unsigned stats_interval_ms = 2000;
  std::string restart = "no";
  bool tty = false;
  bool open_stdin = false;    // -i: stdin is a pipe fed by attached clients
  bool attach_first = false;  // start the program only once a client attached (run without -d)
  bool auto_remove = false;   // --rm: `tiffin rm` the container once it stopped for good
  bool loopback = false;      // bring up lo in the container's own network namespace
  std::string tiffin;         // the tiffin binary, with --root/--run-root, for --rm
  std::string root, run_root;

  std::string log_path() const { return state_dir + "/container.log"; }
  std::string status_path() const { return state_dir + "/status.json"; }
  std::string stop_marker() const { return state_dir + "/stop-requested"; }
  std::string attach_socket() const { return run_dir + "/attach.sock"; }
  std::string console_socket() const { return run_dir + "/console.sock"; }
  std::string pid_file() const { return run_dir + "/shim.pid"; }
};

std::string format_shim_config(const ShimConfig& c);
Result<ShimConfig> parse_shim_config(const std::string& text);

}  // namespace tiffin::shim
