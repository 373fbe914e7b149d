// tiffin-shim <shim.conf>: detaches into its own session and monitors one container (src/shim).
// fd 3 is where the engine reads the shim's start-up answer (shim/shim_protocol.hpp).
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "common/fd.hpp"
#include "common/ofd_lock.hpp"
#include "shim/shim.hpp"
#include "shim/shim_protocol.hpp"

namespace {

int refuse(int ready_fd, const tiffin::Error& e) {
  std::string m = tiffin::shim::encode_message(tiffin::shim::Failed{e});
  if (ready_fd >= 0) (void)tiffin::write_all(ready_fd, {reinterpret_cast<const uint8_t*>(m.data()), m.size()});
  std::fprintf(stderr, "tiffin-shim: %s\n", e.message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  int ready_fd = ::fcntl(3, F_GETFD) >= 0 ? 3 : -1;
  if (ready_fd >= 0) ::fcntl(ready_fd, F_SETFD, FD_CLOEXEC);
  // fd 4 may be the container's secret environment (shim_config.hpp: secret_env). Whatever else
  // the caller's caller left open must not live on in the shim or reach the container.
  int secret_env_fd = ::fcntl(4, F_GETFD) >= 0 ? 4 : -1;
  if (secret_env_fd >= 0) ::fcntl(secret_env_fd, F_SETFD, FD_CLOEXEC);
  ::close_range(5, ~0U, 0);
  if (argc != 2) return refuse(ready_fd, {tiffin::Errc::invalid_input, 0, "usage: tiffin-shim <shim.conf>"});
  auto text = tiffin::read_file(argv[1], 1 << 20);
  if (!text) return refuse(ready_fd, text.error());
  auto config = tiffin::shim::decode_config(std::string(text->begin(), text->end()));
  if (!config) return refuse(ready_fd, config.error());
  if (!config->secret_env && secret_env_fd >= 0) {
    ::close(secret_env_fd);
    secret_env_fd = -1;
  }
  if (config->secret_env && secret_env_fd < 0)
    return refuse(ready_fd, {tiffin::Errc::invalid_input, 0, "the shim config says secret_env, and fd 4 is not open"});
  // One shim per container: an open-file-description lock, held for the shim's whole life (the
  // forked child keeps it), is how the engine knows the shim is alive.
  auto lock = tiffin::take_ofd_lock(config->lock_path(), 0600);
  if (!lock && lock.error().kind == tiffin::Errc::conflict)
    return refuse(ready_fd, {tiffin::Errc::conflict, lock.error().sys_errno, "container " + config->id + " has a shim already"});
  if (!lock) return refuse(ready_fd, lock.error());
  // Detach: the engine waits only for this first process; the shim lives on in a new session.
  pid_t child = ::fork();
  if (child < 0) return refuse(ready_fd, tiffin::fail_errno("fork").error());
  if (child > 0) return 0;
  ::setsid();
  if (::chdir("/") != 0) return 1;
  std::string pid = std::to_string(::getpid()) + "\n";
  (void)::ftruncate(lock->get(), 0);
  (void)tiffin::pwrite_all(lock->get(), {reinterpret_cast<const uint8_t*>(pid.data()), pid.size()}, 0);
  return tiffin::shim::run_shim(*config, ready_fd, secret_env_fd);
}
