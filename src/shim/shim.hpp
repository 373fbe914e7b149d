// tiffin-shim: one per container, outliving the CLI that started it (DESIGN §1).
//  · creates and starts the container through the runtime library, in a short-lived child
//    process so the shim itself never holds the runtime's memory; it is the container's
//    subreaper, so the init becomes its child
//  · holds the container's stdio (pipes, or the pty master for -t) and serves attach clients
//  · writes every line to the local log (rotating) and PUBLISHes it to Redis when configured
//  · publishes cgroup stats every stats_interval_ms when configured
//  · records the exit status in status.json and applies the restart policy
// Talks to whoever started it through `ready_fd`: "listening\n" once the attach socket is up,
// then "ok <pid>\n" once the program runs, or "error <exit code> <message>\n" (125 engine,
// 126 not executable, 127 not found).
#pragma once

#include "shim/shim_config.hpp"

namespace tiffin::shim {

// Runs the shim until the container stopped for good; returns the shim's exit status.
int run_shim(const ShimConfig& config, int ready_fd);

// Exit code for a failed create, as docker reports it.
int creation_exit_code(const std::string& message);

// status.json, written atomically by the shim and read by the engine.
struct ShimStatus {
  std::string state = "created";  // created | running | restarting | exited
  int pid = 0;
  int exit_code = 0;
  int restart_count = 0;
  std::string started_at, finished_at, error;
};
std::string format_shim_status(const ShimStatus& s);

}  // namespace tiffin::shim
