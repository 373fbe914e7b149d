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

// In order: rlimits, oom_score_adj, umask, cwd, the executable's path, fds beyond
// 3 + preserve_fds marked close-on-exec, AppArmor/SELinux exec labels, seccomp (now, while privileged, unless no_new_privs),
// bounding set, user, capabilities, no_new_privs. The seccomp program is built by the runtime
// beforehand (seccomp_program), where its cache is reachable.
//
// What runs under the container's filter is what any profile that allows execve must allow, so
// the filter goes as late as it can (runc's order). With no_new_privs it is the last thing before
// execve (exec_prepared). Without, loading it needs CAP_SYS_ADMIN, which the capability and user
// steps drop, so it goes before them, and these run under it: prctl (PR_CAPBSET_DROP,
// PR_SET_KEEPCAPS, PR_CAP_AMBIENT, PR_SET_PDEATHSIG), capget, capset, setgroups, setresgid,
// setresuid; then in the init sendto and close (reporting "ready"), read and close (exec.fifo),
// the startContainer hooks if any, and execve — what runc runs there too.
Result<PreparedProcess> prepare_process(const Process& p, const std::optional<SeccompProgram>& seccomp, int preserve_fds);
// Loads the late filter and execs; on failure prints the error and exits 127.
[[noreturn]] void exec_prepared(PreparedProcess& p);

}  // namespace tiffin::runtime
