// tiffin-shim: one per container, outliving the CLI that started it (docs/DESIGN.md §1). A small
// static monitor, as conmon is: it does not carry the runtime but drives the OCI runtime's
// command line (tiffin-oci create/start/delete/pause/resume), so its resident memory is that of
// a loop over a few descriptors.
//  · answers the engine over shim.sock (shim/shim_protocol.hpp: start, status, stop, kill,
//    pause, resume, wait, attach, resize)
//  · is the container's subreaper: the init is its child, its exit a SIGCHLD, not a poll
//  · holds the container's stdio (pipes, or the pty master for -t) for attached clients
//  · writes every line to the local log (rotating) and PUBLISHes it to Redis when configured
//  · publishes cgroup stats every stats_interval_ms when configured
//  · records its status (shim/shim_status.hpp) and applies the restart policy
//  · with auto_remove, tears down what the engine listed once the container stopped for good
// While it lives it holds an exclusive lock (F_OFD_SETLK) on <run dir>/shim.pid: that is how the engine
// tells a live shim from a dead one, and why a second shim for the same container refuses to
// start.
#pragma once

#include "shim/shim_config.hpp"

namespace tiffin::shim {

// Runs the shim until the container stopped for good; returns the shim's exit status. Its
// answer (Done or Failed) goes to `ready_fd` once shim.sock listens; the engine keeps the
// other end open until it has sent Start, so a launcher that dies before asking leaves nothing.
// `secret_env_fd` (config.secret_env) is the environment memfd the runtime gets at each start.
int run_shim(const ShimConfig& config, int ready_fd, int secret_env_fd = -1);

}  // namespace tiffin::shim
