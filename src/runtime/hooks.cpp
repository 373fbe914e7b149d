#include "runtime/hooks.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "common/fd.hpp"
#include "common/subprocess.hpp"

namespace tiffin::runtime {
namespace {

Result<void> run_hook(const Hook& hook, const std::string& state_json, const std::string& phase) {
  std::string what = phase + " hook " + hook.path;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return fail_errno("pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  std::vector<std::string> args = hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = hook.env;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork for " + what);
  if (pid == 0) {
    // A hook dies with the runtime: a killed create must leave no process behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(rd.get(), 0);
    ::execve(hook.path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  rd.reset();
  // A hook that does not read its stdin must not kill us with SIGPIPE. Restored afterwards: an
  // ignored disposition would survive exec into the container's program.
  struct sigaction ignore {
  }, old{};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &old);
  (void)write_all(wr.get(), std::span(reinterpret_cast<const uint8_t*>(state_json.data()), state_json.size()));
  wr.reset();
  ::sigaction(SIGPIPE, &old, nullptr);
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  int timeout_ms = hook.timeout ? *hook.timeout * 1000 : -1;
  if (pidfd) {
    pollfd pfd{pidfd.get(), POLLIN, 0};
    int rc;
    while ((rc = ::poll(&pfd, 1, timeout_ms)) < 0 && errno == EINTR) {
    }
    if (rc == 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return fail(Errc::unavailable, what + " timed out after " + std::to_string(*hook.timeout) + "s");
    }
  }
  int code = wait_exit(pid);
  if (code == 127) return fail(Errc::invalid_input, what + " could not be executed");
  if (code != 0) return fail(Errc::io, what + " failed with exit status " + std::to_string(code));
  return {};
}

}  // namespace

Result<void> run_hooks(const std::vector<Hook>& hooks, const std::string& state_json, const std::string& phase) {
  for (const auto& h : hooks) TRY(run_hook(h, state_json, phase));
  return {};
}

void run_hooks_warning(const std::vector<Hook>& hooks, const std::string& state_json, const std::string& phase) {
  for (const auto& h : hooks)
    if (auto r = run_hook(h, state_json, phase); !r) std::fprintf(stderr, "tiffin-oci: warning: %s\n", r.error().what().c_str());
}

}  // namespace tiffin::runtime
