// The steps that turn a runtime process into the container's process, shared by a container's
// first process and `exec`: rlimits, oom_score_adj, the user switch that keeps capabilities
// across setuid, and finding the program the way execvp would but in the process's own PATH.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/seccomp.hpp"
#include "runtime/spec.hpp"

namespace tiffin::runtime {

Result<void> apply_rlimits(const std::vector<Rlimit>& rlimits);
Result<void> set_oom_score_adj(int value);
// setgroups, setresgid, setresuid; capabilities survive it (PR_SET_KEEPCAPS) so that
// apply_capabilities can set them afterwards.
Result<void> switch_user(const User& user);

// The path execve needs for args[0]: as is when it has a '/', else the first executable match
// in the PATH of `env` (or the default PATH). Errors say "executable file not found in $PATH"
// (Errc::program_not_found) or why the path cannot be run (program_not_executable: EACCES,
// EISDIR), so docker's 127 and 126 follow from the kind.
Result<std::string> find_executable(const std::string& arg0, const std::vector<std::string>& env);

// Copies env, filling HOME from the user's passwd entry when absent (as runc does) and PATH.
std::vector<std::string> process_environment(const Process& p);

// Everything runs through execve with these; the char* vectors point into `strings`.
struct ExecArgs {
  std::string path;
  std::vector<std::string> argv_strings, env_strings;
  std::vector<char*> argv, envp;
  void build();
};

// A process ready for execve: everything applied but the seccomp filter, which is loaded last
// when no_new_privs allows loading it without privilege.
struct PreparedProcess {
  ExecArgs exec;
  std::optional<SeccompProgram> late_filter;
};

// In order: rlimits, oom_score_adj, umask, cwd, the executable's path, seccomp (now, while
// privileged, unless no_new_privs), bounding set, user, capabilities, no_new_privs, and fds
// beyond 3 + preserve_fds marked close-on-exec. The seccomp program is built by the runtime
// beforehand (seccomp_program), where its cache is reachable.
Result<PreparedProcess> prepare_process(const Process& p, const std::optional<SeccompProgram>& seccomp, int preserve_fds);
// Loads the late filter and execs; on failure prints the error and exits 127.
[[noreturn]] void exec_prepared(PreparedProcess& p);

}  // namespace tiffin::runtime
