// The container lifecycle as runc defines it, over a state directory per container:
//   create  — namespaces, cgroup, rootfs and process set up; the init blocks on exec.fifo
//   start   — releases the init into the user's program
//   kill / pause / resume / update / ps / state / delete
//   exec    — another process inside a running container
//   run     — create + start, then wait for the program and clean up
// The runtime process leaves nothing behind: after create and exec --detach the container's
// processes belong to the caller (which should be a subreaper, as conmon and containerd's shim are).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/container_state.hpp"
#include "runtime/spec.hpp"

namespace tiffin::runtime {

struct RuntimeOptions {
  std::string root = "/run/tiffin-oci";  // state directories
  bool systemd_cgroup = false;           // cgroupsPath in systemd's "slice:prefix:name" form
};

// Compiled seccomp programs, kept beside the state directories.
inline std::string seccomp_cache_dir(const RuntimeOptions& rt) { return rt.root + "/.seccomp-cache"; }

struct CreateOptions {
  std::string id, bundle, pid_file, console_socket;
  bool no_pivot = false;
  int preserve_fds = 0;  // fds 3 .. 3+n-1 are passed to the container's process
  // tiffin's extension: entries (common/env_memfd.hpp) added to process.env in memory only, so
  // a secret environment never is in a file; -1: none.
  int env_fd = -1;
};

// Creates the container; returns the init's pid (in the caller's pid namespace).
Result<pid_t> create_container(const RuntimeOptions& rt, const CreateOptions& opts);
Result<void> start_container(const RuntimeOptions& rt, const std::string& id);
// create + start; unless `detach`, waits for the program (forwarding signals), deletes the
// container and returns the program's exit code (128 + signal when killed).
Result<int> run_container(const RuntimeOptions& rt, const CreateOptions& opts, bool detach);

struct StateReport {
  ContainerState state;
  Status status;
};
Result<StateReport> container_state(const RuntimeOptions& rt, const std::string& id);
Result<std::vector<StateReport>> list_containers(const RuntimeOptions& rt);

// "no such process" when the init is gone, "container not running" when it was never started.
Result<void> kill_container(const RuntimeOptions& rt, const std::string& id, int signal, bool all);
// Refuses a running container unless `force` (which kills it first). A container that does not
// exist is an error, except with `force`.
Result<void> delete_container(const RuntimeOptions& rt, const std::string& id, bool force);
Result<void> pause_container(const RuntimeOptions& rt, const std::string& id);
Result<void> resume_container(const RuntimeOptions& rt, const std::string& id);
Result<void> update_container(const RuntimeOptions& rt, const std::string& id, const Resources& r);
Result<std::vector<pid_t>> container_pids(const RuntimeOptions& rt, const std::string& id);

struct ExecOptions {
  std::string id, pid_file, console_socket;
  Process process;  // complete: from --process or built by exec_process()
  bool detach = false;
  int preserve_fds = 0;
};
// Starts the process in the container; with `detach` returns 0 once it runs, else its exit code.
Result<int> exec_in_container(const RuntimeOptions& rt, const ExecOptions& opts);
// The container's own process settings with args (and overrides) for exec without --process.
Result<Process> exec_process(const RuntimeOptions& rt, const std::string& id);

// Signal names ("KILL", "SIGTERM") or numbers.
Result<int> parse_signal(const std::string& text);

}  // namespace tiffin::runtime
