#include "runtime/wait.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>

#include "common/subprocess.hpp"

namespace tiffin::runtime {
namespace {

volatile pid_t g_target = 0;

void forward(int sig) {
  if (g_target > 0) ::kill(g_target, sig);
}

}  // namespace

int wait_forwarding_signals(pid_t pid) {
  static const int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};
  struct sigaction sa {
  }, old[std::size(kForwarded)];
  sa.sa_handler = forward;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  g_target = pid;
  for (size_t i = 0; i < std::size(kForwarded); ++i) ::sigaction(kForwarded[i], &sa, &old[i]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  g_target = 0;
  for (size_t i = 0; i < std::size(kForwarded); ++i) ::sigaction(kForwarded[i], &old[i], nullptr);
  return exit_code(status);
}

}  // namespace tiffin::runtime
