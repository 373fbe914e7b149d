// tiffin-shim <shim.conf>: detaches into its own session and monitors one container (src/shim).
// fd 3, when open, is where the engine reads "listening", then "ok <pid>" or "error …".
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "common/fd.hpp"
#include "runtime/container_state.hpp"
#include "shim/shim.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: tiffin-shim <shim.conf>\n");
    return 2;
  }
  auto text = tiffin::read_file(argv[1], 1 << 20);
  if (!text) {
    std::fprintf(stderr, "tiffin-shim: %s\n", text.error().message.c_str());
    return 1;
  }
  auto config = tiffin::shim::parse_shim_config(std::string(text->begin(), text->end()));
  if (!config) {
    std::fprintf(stderr, "tiffin-shim: %s\n", config.error().message.c_str());
    return 2;
  }
  int ready_fd = ::fcntl(3, F_GETFD) >= 0 ? 3 : -1;
  if (ready_fd >= 0) ::fcntl(ready_fd, F_SETFD, FD_CLOEXEC);
  // Whatever else the caller's caller left open must not live on in the shim or reach the
  // container.
  ::close_range(4, ~0U, 0);
  // Detach: the engine waits only for this first process; the shim lives on in a new session.
  pid_t child = ::fork();
  if (child < 0) return 1;
  if (child > 0) return 0;
  ::setsid();
  if (::chdir("/") != 0) return 1;
  std::string pid = std::to_string(::getpid()) + " " + std::to_string(tiffin::runtime::process_start_time(::getpid())) + "\n";
  (void)tiffin::write_file_atomic(config->pid_file(), {reinterpret_cast<const uint8_t*>(pid.data()), pid.size()}, 0644, false);
  return tiffin::shim::run_shim(*config, ready_fd);
}
